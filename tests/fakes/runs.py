"""A stateful fake of the ``RunRecorder`` port: the run's status as the updates left it, and its outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared import naming
from shared.models.build import RunRef, RunStatusRecorded, RunStatusUpdate, TargetResult
from shared.models.durable import RegionState


@dataclass
class FakeRunRecorder:
    """Keeps every update and every run output it is given; an update seen before changes nothing."""

    updates: list[RunStatusUpdate] = field(default_factory=list)
    outputs: dict[str, TargetResult] = field(default_factory=dict)  # runOutputName -> the target
    artifacts: dict[str, str] = field(default_factory=dict)  # step key -> sha256
    regions: dict[str, list[list[RegionState]]] = field(default_factory=dict)  # target -> each report
    state: RunStatusRecorded = field(
        default_factory=lambda: RunStatusRecorded(run_state="Running", run_sub_state="Queued", finished=False)
    )

    def apply(self, update: RunStatusUpdate) -> RunStatusRecorded:
        if update in self.updates or self.state.finished:
            return self.state
        self.updates.append(update)
        self.state = RunStatusRecorded(
            run_state=update.run_state or self.state.run_state,
            run_sub_state=update.run_sub_state or self.state.run_sub_state,
            finished=update.finished,
        )
        return self.state

    def progress(self, run: RunRef, target: str, regions: list[RegionState]) -> None:
        if not self.state.finished:
            self.regions.setdefault(target, []).append(list(regions))

    def record_outputs(self, run: RunRef, targets: list[TargetResult]) -> list[str]:
        written = [t.run_output_name for t in targets if t.succeeded]
        self.outputs.update({t.run_output_name: t for t in targets if t.succeeded})
        return written

    def record_artifacts(self, run: RunRef, hashes: dict[str, str]) -> None:
        self.artifacts.update(hashes)

    def provenance(self, run: RunRef) -> dict[str, str]:
        return naming.provenance_tags(
            run_id=run.run_id, template=run.template_name, source_version=None, fingerprint=None
        )
