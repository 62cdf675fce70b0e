"""One structured JSON line per function execution, on stderr (the host's invocation log).

A line never carries a URL's credentials: ``user:pass@`` and SAS signatures (``sig=``) in anything logged
(an error message, a traceback) are replaced by ``REDACTED``, as kiln redacts what it echoes. devhost
imports nothing of kiln, so it keeps its own two patterns.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any

_lock = threading.Lock()
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@\"'<>\\]+@")
_SIGNATURE = re.compile(r"(?i)((?:[?&]|%3F|%26)sig(?:=|%3D))[^&#\s\"'<>\\]+")


def redacted(line: str) -> str:
    """``line`` with URL credentials replaced."""
    return _SIGNATURE.sub(r"\g<1>REDACTED", _USERINFO.sub(r"\g<1>REDACTED@", line))


def emit(record: dict[str, Any]) -> None:
    """Write ``record`` as one JSON line on stderr, with a timestamp; safe from any thread."""
    line = redacted(json.dumps({"time": datetime.now(UTC).isoformat(), **record}, default=str))
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
