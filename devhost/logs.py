"""One structured JSON line per function execution, on stderr (the host's invocation log)."""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from typing import Any

_lock = threading.Lock()


def emit(record: dict[str, Any]) -> None:
    """Write ``record`` as one JSON line on stderr, with a timestamp; safe from any thread."""
    line = json.dumps({"time": datetime.now(UTC).isoformat(), **record}, default=str)
    with _lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def execution(*, kind: str, function: str, duration_ms: float, outcome: str, **extra: Any) -> None:
    """Log one finished execution of a trigger function (HTTP, timer, Event Grid)."""
    emit(
        {
            "event": "FunctionExecuted",
            "kind": kind,
            "function": function,
            "durationMs": round(duration_ms, 3),
            "outcome": outcome,
            **{k: v for k, v in extra.items() if v is not None},
        }
    )
