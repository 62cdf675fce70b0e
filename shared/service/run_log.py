"""``GET {base}/runs/{runId}/log``: the run's ``customization.log`` from a byte offset, optionally followed.

Functions HTTP responses are not streamed, so "follow" is a long poll: the request waits (up to
``KILN_LOG_FOLLOW_SECONDS``) until new bytes exist or the run finishes, and the client asks again from the
offset the answer names (header ``x-kiln-log-offset``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared import naming
from shared.errors import AzureNotFound, KilnError
from shared.service import run_documents as rd
from shared.service.checks import printable
from shared.service.run_control import RunService
from shared.store import TemplateRef

if TYPE_CHECKING:
    from shared.ports import Blobs

MAX_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class LogChunk:
    """Bytes of the log from the asked offset, the offset to ask next, whether the run has finished."""

    data: bytes
    next_offset: int
    finished: bool


def parse_offset(value: str | None) -> int:
    """The ``offset`` query parameter: ASCII digits only (``str.isdigit`` also takes '²'), else 400."""
    if value is None or value == "":
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise KilnError(
            code="InvalidOffset",
            message=f"The offset '{printable(value[:40])}' is invalid: it must be a non-negative number "
            "of bytes.",
            target="offset",
        )
    return int(value)


def log_account(run_id: str) -> str:
    """The staging storage account holding a run's log: its template's, as the deployment names it."""
    return naming.staging_account_of_run(run_id)


class RunLog:
    """Reads a run's log through the Blobs port of its staging account."""

    def __init__(
        self,
        runs: RunService,
        *,
        blobs_for: Callable[[str], Blobs],
        follow_seconds: float,
        poll_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._runs = runs
        self._blobs_for = blobs_for
        self._follow = follow_seconds
        self._poll = poll_seconds
        self._sleep = sleep
        self._clock = clock

    def read(self, ref: TemplateRef, run_id: str, *, offset: int, follow: bool) -> LogChunk:
        """The log from ``offset``; with ``follow`` wait for new bytes or the end of the run."""
        finished = rd.is_finished(self._runs.document(ref, run_id))
        blobs = self._blobs_for(log_account(run_id))
        data = self._read(blobs, run_id, offset)
        deadline = self._clock() + self._follow
        while follow and not data and not finished and self._clock() < deadline:
            self._sleep(min(self._poll, max(0.0, deadline - self._clock())))
            finished = rd.is_finished(self._runs.document(ref, run_id))
            data = self._read(blobs, run_id, offset)
        data = data[:MAX_CHUNK]
        # "finished" is read before the bytes, so a finished answer holds every byte the run wrote
        # (unless the chunk was cut at MAX_CHUNK: then the client must ask again).
        return LogChunk(data, offset + len(data), finished and len(data) < MAX_CHUNK)

    @staticmethod
    def _read(blobs: Blobs, run_id: str, offset: int) -> bytes:
        try:
            return blobs.read_from(
                container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run_id), offset=offset
            )
        except AzureNotFound:
            return b""
