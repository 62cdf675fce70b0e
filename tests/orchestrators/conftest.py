"""Run kiln's orchestrators through the real SDK replay in devhost's engine, with scripted activities."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.engine import DurableEngine
from shared.models.build import BUILD_SCHEMA, BuildInput, RunRef, TimingPolicy
from tests.orchestrators import scripted_app
from tests.orchestrators.scripted_app import Script

FAST = TimingPolicy(
    retry_first_interval_ms=10,
    retry_max_attempts=3,
    wait_budget_seconds=0.2,
    wait_poll_seconds=0.01,
    max_wait_poll_seconds=0.02,
)


SUB = "00000000-0000-0000-0000-000000000000"
IDENTITY = (
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"
)
IMAGE = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/img"
GALLERY_IMAGE = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/def"


def template(**properties: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location": "eastus",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
        "properties": {
            "source": {
                "type": "PlatformImage",
                "publisher": "Canonical",
                "offer": "o",
                "sku": "s",
                "version": "latest",
            },
            "customize": [
                {"type": "Shell", "name": "first", "inline": ["echo one"]},
                {"type": "Shell", "name": "second", "inline": ["echo two"]},
            ],
            "distribute": [
                {"type": "ManagedImage", "runOutputName": "managed", "imageId": IMAGE, "location": "eastus"},
                {
                    "type": "SharedImage",
                    "runOutputName": "gallery",
                    "galleryImageId": GALLERY_IMAGE,
                    "targetRegions": [{"name": "eastus"}, {"name": "westeurope"}, {"name": "japaneast"}],
                },
            ],
        },
    }
    body["properties"].update(properties)
    return body


def build_input(tpl: dict[str, Any] | None = None, timing: TimingPolicy = FAST) -> str:
    run = RunRef(
        subscription_id="s", resource_group="rg", template_name="tpl", run_id="run-1", location="eastus"
    )
    inp = BuildInput.model_validate(
        {
            "schema_version": BUILD_SCHEMA,
            "run": run.model_dump(),
            "template": tpl or template(),
            "expires_at": "2030-01-01T00:00:00Z",
            "timing": timing.model_dump(),
        }
    )
    return json.dumps(inp.model_dump(mode="json"))


class Harness:
    def __init__(self, engine: DurableEngine, script: Script) -> None:
        self.engine = engine
        self.script = script

    def start(self, payload: str, instance_id: str = "run-1") -> str:
        return self.engine.start_new("build_image", instance_id, payload)

    def finish(self, instance_id: str = "run-1", timeout: float = 60) -> dict[str, Any]:
        status = self.engine.wait_for(instance_id, timeout)
        assert status is not None and status["runtimeStatus"] == "Completed", status
        return status["output"]  # type: ignore[no-any-return]

    def wait_until_called(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while name not in self.script.names():
            assert time.monotonic() < deadline, f"{name} never called; calls: {self.script.names()}"
            time.sleep(0.01)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    script = Script()
    scripted_app.SCRIPT = script
    engine = DurableEngine(
        functions=scripted_app.FUNCTIONS, db_path=tmp_path / "durable.sqlite3", timer_poll_interval=0.005
    )
    engine.start()
    try:
        yield Harness(engine, script)
    finally:
        engine.stop(timeout=5)
