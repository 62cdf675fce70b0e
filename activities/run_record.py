"""The run's record: status updates into the run document (and the template's lastRunStatus), and one
runOutput per succeeded distribute target, both through the ``RunRecorder`` port.

Idempotent, as every activity must be (Durable runs them at least once): the recorder applies an update it
has seen before as a no-op, and an older run's output never replaces a newer one.
"""

from __future__ import annotations

from shared.models.build import RunStatusRecorded, RunStatusUpdate
from shared.models.durable import OutputsRecorded, RecordOutputsInput
from shared.ports import BuildPorts


def update_status(update: RunStatusUpdate, *, ports: BuildPorts) -> RunStatusRecorded:
    """Record a change of the run's state; the run document's state afterwards."""
    return ports.runs.apply(update)


def record_outputs(inp: RecordOutputsInput, *, ports: BuildPorts) -> OutputsRecorded:
    """Write the run outputs of the run's succeeded targets; the names written."""
    return OutputsRecorded(written=ports.runs.record_outputs(inp.run, inp.targets))
