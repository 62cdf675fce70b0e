"""Patch cycles (docs/cycles.md): scheduled rebuilds of many templates, capped, deduplicated, recorded."""

from shared.service.cycles.inputs import InputProbe, Unchanged
from shared.service.cycles.service import PatchCycles, TickReport

__all__ = ["InputProbe", "PatchCycles", "TickReport", "Unchanged"]
