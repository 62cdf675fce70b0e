"""Stopping the emulator subprocesses the tests start."""

from __future__ import annotations

import subprocess
from typing import Any


def terminate(process: subprocess.Popen[Any], *, timeout: float = 10.0) -> None:
    """SIGTERM ``process`` and wait for it; SIGKILL when it outlives ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
