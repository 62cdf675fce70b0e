"""``GET {base}/runs/{runId}/log``: the run's ``customization.log`` from a byte offset, optionally followed.

Functions HTTP responses are not streamed, so "follow" is a long poll: the request waits (up to
``KILN_LOG_FOLLOW_SECONDS``) until new bytes exist or the run finishes, and the client asks again from the
offset the answer names (header ``x-kiln-log-offset``).

A waiting poll holds no worker thread: it sleeps on the event loop (``follow`` is a coroutine) and borrows a
thread only for each short read, so any number of followers leave the synchronous functions their pool.
At most ``MAX_FOLLOWERS`` polls wait at once; one more is answered at once with what there is (the client
asks again), so followers are a bounded share of the host however many there are.
"""

from __future__ import annotations

import asyncio
import threading
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
MAX_FOLLOWERS = 256


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
        clock: Callable[[], float] = time.monotonic,
        max_followers: int = MAX_FOLLOWERS,
    ) -> None:
        self._runs = runs
        self._blobs_for = blobs_for
        self._follow = follow_seconds
        self._poll = poll_seconds
        self._clock = clock
        self._max_followers = max_followers
        self._followers = 0
        self._lock = threading.Lock()

    def read(self, ref: TemplateRef, run_id: str, *, offset: int) -> LogChunk:
        """The log from ``offset`` as it is now."""
        finished = rd.is_finished(self._runs.document(ref, run_id))
        data = self._read(self._blobs_for(log_account(run_id)), run_id, offset)[:MAX_CHUNK]
        # "finished" is read before the bytes, so a finished answer holds every byte the run wrote
        # (unless the chunk was cut at MAX_CHUNK: then the client must ask again).
        return LogChunk(data, offset + len(data), finished and len(data) < MAX_CHUNK)

    @property
    def followers(self) -> int:
        """Polls waiting right now."""
        return self._followers

    async def follow(self, ref: TemplateRef, run_id: str, *, offset: int) -> LogChunk:
        """The log from ``offset``, once new bytes exist or the run has finished (or the wait is over)."""
        chunk = await asyncio.to_thread(self.read, ref, run_id, offset=offset)
        if chunk.data or chunk.finished or not self._enter():
            return chunk
        try:
            deadline = self._clock() + self._follow
            while not chunk.data and not chunk.finished and self._clock() < deadline:
                await asyncio.sleep(min(self._poll, max(0.0, deadline - self._clock())))
                chunk = await asyncio.to_thread(self.read, ref, run_id, offset=offset)
            return chunk
        finally:
            with self._lock:
                self._followers -= 1

    def _enter(self) -> bool:
        with self._lock:
            if self._followers >= self._max_followers:
                return False
            self._followers += 1
            return True

    @staticmethod
    def _read(blobs: Blobs, run_id: str, offset: int) -> bytes:
        try:
            return blobs.read_from(
                container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run_id), offset=offset
            )
        except AzureNotFound:
            return b""
