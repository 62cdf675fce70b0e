"""A stateful fake of the Durable client port (``shared.service.run_start.DurableStarter``), and the run
bookkeeping a real orchestration would do, for the tests of builds that start by themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from shared.service.resources import now
from shared.service.run_control import RunService

RUNNING = "Running"


@dataclass
class FakeDurable:
    """Orchestration instances by id; refuses to start an id that is running, as Durable does."""

    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse_starts: str | None = None  # when set, every start fails with this message

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str:
        if self.refuse_starts:
            raise RuntimeError(self.refuse_starts)
        assert instance_id is not None
        existing = self.instances.get(instance_id)
        if existing is not None and existing["status"] == RUNNING:
            raise RuntimeError(f"409: an instance with ID '{instance_id}' already exists")
        self.instances[instance_id] = {
            "name": orchestration_function_name,
            "input": client_input,
            "status": RUNNING,
        }
        return instance_id

    async def get_status(self, instance_id: str) -> Any:
        found = self.instances.get(instance_id)
        if found is None:
            return None
        return SimpleNamespace(runtime_status=SimpleNamespace(value=found["status"]))

    def started(self, trigger: str | None = None) -> list[str]:
        """Ids of the instances started (with that ``trigger`` in their BuildInput), in start order."""
        found = self.instances.items()
        return [i for i, v in found if trigger is None or v["input"].get("trigger") == trigger]

    def finish(self, runs: RunService, run_id: str | None, state: str = "Succeeded", **fields: Any) -> None:
        """End the run as the orchestration would: its final ``update_run_status``, then Completed."""
        assert run_id is not None, "no run was started"
        build = self.instances[run_id]["input"]
        update = {"run": build["run"], "time": now(), "run_state": state, "finished": True, **fields}
        update.setdefault("message", f"Run {state.lower()}.")
        runs.apply(update)
        self.instances[run_id]["status"] = "Completed"
