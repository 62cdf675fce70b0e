"""The event loop async activity functions run on, as the Python worker runs them: many at once, on one
thread, each awaiting its own I/O. A waiting activity (``asyncio.sleep`` between polls) holds no worker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class EventLoop:
    """A daemon thread running one asyncio loop; coroutines are submitted from any thread."""

    def __init__(
        self, name: str = "devhost-async", threads: int = 32, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        """``loop``: the host's own loop, running on its own thread, instead of a new one. The Python worker
        runs every async function of an app on one loop, and the SDK's Durable client keeps one aiohttp
        session bound to the loop that first used it, so an activity holding a client binding must run
        where the HTTP and timer functions run."""
        self._borrowed = loop is not None
        self._loop = loop or asyncio.new_event_loop()
        # ``asyncio.to_thread`` (an activity's port calls) uses the loop's default executor; the stdlib's
        # default (cores + 4) would queue a thousand builds' looks behind six threads.
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"{name}-io")
        self._loop.call_soon_threadsafe(self._loop.set_default_executor, self._executor)
        if self._borrowed:
            return
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        self._loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T], done: Callable[[Future[T]], None]) -> None:
        """Run ``coro`` on the loop; ``done`` is called with its future when it ends."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.add_done_callback(done)

    def stop(self) -> None:
        """Stop the loop (pending coroutines are abandoned: their work items run again after a restart); a
        borrowed loop is its owner's to stop."""
        if not self._borrowed:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._executor.shutdown(wait=False, cancel_futures=True)
