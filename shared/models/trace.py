"""A run's trace, as kiln derives it from the run document (docs/observability.md).

Orchestrations are replayed, so no span is held open while a build runs: each span is made, with its start and
end times, once the run document says it has ended (a phase, a step, a distribute target or region, the run).
Its ids derive from the run id, so every span of a run lands in one trace whichever worker records it, and a
span recorded twice has one id.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

SpanStatus = Literal["Ok", "Error", "Unset"]
SpanKind = Literal["run", "phase", "step", "target", "region"]
ROOT = "run"  # the key of the run's own span, the parent of its phases


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def trace_id(run_id: str) -> int:
    """The run's 128-bit trace id (never 0, which OpenTelemetry reads as invalid)."""
    return int.from_bytes(_digest("kiln.trace", run_id)[:16], "big") or 1


def span_id(run_id: str, key: str) -> int:
    """The 64-bit id of the span ``key`` of a run (never 0)."""
    return int.from_bytes(_digest("kiln.span", run_id, key)[:8], "big") or 1


def trace_id_hex(run_id: str) -> str:
    """The trace id as Application Insights shows it (``operation_Id``): 32 lower-case hex digits."""
    return f"{trace_id(run_id):032x}"


class RunSpan(BaseModel):
    """One ended piece of a run: ``key`` names it within the run, ``parent`` its parent's key."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    key: str
    parent: str | None
    kind: SpanKind
    name: str
    start: datetime
    end: datetime
    status: SpanStatus = "Unset"
    description: str = ""
    attributes: dict[str, str | int | bool] = {}

    @property
    def trace_id(self) -> int:
        return trace_id(self.run_id)

    @property
    def span_id(self) -> int:
        return span_id(self.run_id, self.key)

    @property
    def parent_id(self) -> int | None:
        return None if self.parent is None else span_id(self.run_id, self.parent)
