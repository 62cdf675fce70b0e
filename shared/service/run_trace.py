"""A run's trace from its run document: the spans one write of the document ended (docs/observability.md).

The run document records every phase (start, end, state), and ``kiln.timeline`` every step and when each
distribute target and region ended, so the spans are derived from what is recorded, never from replayed
orchestrator code: the write that ends a phase, a step, a target or the run makes that span, with its own
start and end times. Comparing the document before and after the write tells what ended in it; a
redelivered update changes nothing and so makes no span twice.

One trace per run (its id derives from the run id), the run's span at its root; under it a span per phase;
under a customize / optimize / validate / generalize phase a span per step (customizer, validator, the
workload, deprovisioning); under distribute a span per target and under a gallery target one per region.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.models.trace import ROOT, RunSpan, SpanKind, SpanStatus
from shared.service import run_documents as rd

_STATUS: dict[str, SpanStatus] = {
    "Succeeded": "Ok",
    "Completed": "Ok",
    "Failed": "Error",
    "TimedOut": "Error",
    "PartiallySucceeded": "Error",
}


def ended_spans(before: dict[str, Any] | None, after: dict[str, Any]) -> list[RunSpan]:
    """The spans that ended between ``before`` (None: the document did not exist) and ``after``."""
    props, old = after["properties"], (before or {}).get("properties") or {}
    spans = _Spans(after)
    spans.phases(old.get("phases") or [])
    old_steps = ((before or {}).get("kiln") or {}).get("timeline", {}).get("steps", [])
    spans.steps(old_steps)
    old_targets = {t["runOutputName"]: t.get("state") for t in old.get("targets") or []}
    for target in props["targets"]:
        state = target.get("state")
        if state not in (None, "Running") and old_targets.get(target["runOutputName"]) in (None, "Running"):
            spans.target(target)
    if rd.is_finished(after) and not (before is not None and rd.is_finished(before)):
        spans.root()
    return spans.made


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class _Spans:
    """The spans of one run document, made one by one into ``made``."""

    def __init__(self, run: dict[str, Any]) -> None:
        self.run = run
        self.props = run["properties"]
        self.run_id = self.props["runId"]
        self.timeline = rd.timeline(run)
        self.made: list[RunSpan] = []
        self.common: dict[str, str | int | bool] = {
            "kiln.template": str(run.get("id", "")).rsplit("/runs/", 1)[0],
            "kiln.run_id": self.run_id,
            "kiln.runState": self.props["runState"],
        }

    def _add(
        self,
        kind: SpanKind,
        key: str,
        parent: str | None,
        name: str,
        start: str,
        end: str,
        state: str,
        **attributes: str | int | bool,
    ) -> None:
        begin, finish = _time(start), _time(end)
        self.made.append(
            RunSpan(
                run_id=self.run_id,
                key=key,
                parent=parent,
                kind=kind,
                name=name,
                start=begin,
                end=max(begin, finish),
                status=_STATUS.get(state, "Unset"),
                description=self.props["message"] if state == "Failed" and kind == "run" else "",
                attributes={**self.common, "kiln.state": state, **attributes},
            )
        )

    def phases(self, old: list[dict[str, Any]]) -> None:
        for i, phase in enumerate(self.props["phases"]):
            was = old[i] if i < len(old) else None
            if phase["endTime"] is None or (was is not None and was["endTime"] is not None):
                continue
            self._add(
                "phase",
                _phase_key(i, phase["phase"]),
                ROOT,
                f"phase {phase['phase']}",
                phase["startTime"],
                phase["endTime"],
                phase["state"],
                **{"kiln.phase": phase["phase"]},
            )

    def _phase_of(self, name: str, at: str) -> str:
        """The key of the last phase ``name`` begun by ``at`` (the run's span when there is none)."""
        key = ROOT
        for i, phase in enumerate(self.props["phases"]):
            if phase["phase"] == name and _time(phase["startTime"]) <= _time(at):
                key = _phase_key(i, name)
        return key

    def steps(self, old: list[dict[str, Any]]) -> None:
        for i, step in enumerate(self.timeline["steps"]):
            was = old[i] if i < len(old) else None
            if step["end"] is None or (was is not None and was.get("end") is not None):
                continue
            self._add(
                "step",
                f"step/{i}",
                self._phase_of(step["phase"], step["start"]),
                f"{step['phase']} {step['index']} {step['name']}".rstrip(),
                step["start"],
                step["end"],
                step.get("state", "Succeeded"),
                **{
                    "kiln.phase": step["phase"],
                    "kiln.step.index": step["index"],
                    "kiln.step.name": step["name"],
                },
            )

    def target(self, target: dict[str, Any]) -> None:
        name = target["runOutputName"]
        distribute = [(i, p) for i, p in enumerate(self.props["phases"]) if p["phase"] == "distribute"]
        parent = _phase_key(*distribute[-1]) if distribute else ROOT
        start = distribute[-1][1]["startTime"] if distribute else self.props["startTime"]
        ends = self.timeline["targets"].get(name, {})
        region_ends: dict[str, str] = ends.get("regions", {})
        # A target ends with its last region; its result is recorded later (when the outputs phase begins).
        end = max(region_ends.values(), key=_time) if region_ends else ends.get("end") or start
        key = f"target/{name}"
        kind = {"kiln.target": name, "kiln.target.type": str(target.get("type") or "")}
        self._add("target", key, parent, f"distribute {name}", start, end, target["state"], **kind)
        for region, state in sorted((target.get("regions") or {}).items()):
            self._add(
                "region",
                f"{key}/{region}",
                key,
                f"replicate {region}",
                start,
                region_ends.get(region, end),
                state,
                **kind,
                **{"kiln.region": region},
            )

    def root(self) -> None:
        props = self.props
        end = props.get("endTime") or props["startTime"]
        template = self.common["kiln.template"]
        name = f"run {str(template).rsplit('/', 1)[-1]}" if template else "run"
        self._add("run", ROOT, None, name, props["startTime"], end, props["runState"])


def _phase_key(index: int, phase: str | dict[str, Any]) -> str:
    return f"phase/{index}/{phase if isinstance(phase, str) else phase['phase']}"
