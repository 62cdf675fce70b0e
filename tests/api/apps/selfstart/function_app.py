"""The live-run test app (``tests/api/apps/runs``: kiln's API, run activities and a stand-in ``build_image``)
plus the functions that start builds by themselves: the Event Grid trigger and the source poll timer."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from functions import events, timers

_spec = importlib.util.spec_from_file_location(
    "kiln_runs_test_app", Path(__file__).resolve().parents[1] / "runs" / "function_app.py"
)
assert _spec is not None and _spec.loader is not None
_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runs)

app = _runs.app
app.register_functions(events.bp)
app.register_functions(timers.bp)
