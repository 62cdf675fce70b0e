"""The QEMU guest agent over its unix socket: newline-delimited JSON, one client at a time.

The socket accepts a connection before the agent runs in the guest, so a session starts with
``guest-sync-delimited`` (after a ``0xFF`` that resets the agent's parser) and waits until the same id comes
back; answers to earlier, timed-out requests are skipped that way too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
from typing import Any


class AgentError(RuntimeError):
    """The guest agent is unreachable, timed out, or answered an error."""


class GuestAgent:
    """One connection to one VM's guest agent; calls are serialised (the agent serves one at a time)."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _connect(self) -> None:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_unix_connection(self.socket_path, limit=2**26)

    async def _read_answer(self, want_id: int | None) -> Any:
        assert self._reader is not None
        while True:
            line = await self._reader.readline()
            if not line:
                raise AgentError("the guest agent closed the connection")
            text = line.lstrip(b"\xff").strip()
            if not text:
                continue
            try:
                answer = json.loads(text)
            except ValueError:
                continue
            if want_id is not None and answer.get("return") != want_id:
                continue  # a late answer to an earlier request
            return answer

    async def sync(self, timeout: float = 1.0) -> bool:
        """Whether the agent answers within ``timeout`` seconds (and the session is in step)."""
        async with self._lock:
            try:
                await self._connect()
                assert self._writer is not None
                ident = random.randrange(1, 2**31)
                request = {"execute": "guest-sync-delimited", "arguments": {"id": ident}}
                self._writer.write(b"\xff" + json.dumps(request).encode() + b"\n")
                await self._writer.drain()
                await asyncio.wait_for(self._read_answer(ident), timeout)
                return True
            except (OSError, TimeoutError, AgentError):
                await self.close()
                return False

    async def call(self, command: str, arguments: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
        """``command``'s ``return`` value; AgentError for an error answer, a timeout or a lost connection."""
        async with self._lock:
            try:
                await self._connect()
                assert self._writer is not None
                request: dict[str, Any] = {"execute": command}
                if arguments:
                    request["arguments"] = arguments
                self._writer.write(json.dumps(request).encode() + b"\n")
                await self._writer.drain()
                answer = await asyncio.wait_for(self._read_answer(None), timeout)
            except (OSError, TimeoutError) as exc:
                await self.close()
                raise AgentError(f"{command}: {type(exc).__name__} {exc}") from exc
        if "error" in answer:
            raise AgentError(f"{command}: {answer['error'].get('desc', answer['error'])}")
        return answer.get("return")

    async def send(self, command: str, arguments: dict[str, Any] | None = None) -> None:
        """A command that gives no answer when it works (``guest-shutdown``)."""
        async with self._lock:
            try:
                await self._connect()
                assert self._writer is not None
                request: dict[str, Any] = {"execute": command, "arguments": arguments or {}}
                self._writer.write(json.dumps(request).encode() + b"\n")
                await self._writer.drain()
            except OSError as exc:
                raise AgentError(f"{command}: {exc}") from exc
            finally:
                await self.close()

    async def exec(self, path: str, args: list[str], input_data: bytes | None = None) -> int:
        """Start ``path args`` in the guest (as root), ``input_data`` (if any) its standard input; its pid."""
        arguments: dict[str, Any] = {"path": path, "arg": args, "capture-output": False}
        if input_data is not None:
            arguments["input-data"] = base64.b64encode(input_data).decode()
        found = await self.call("guest-exec", arguments)
        return int(found["pid"])

    async def exec_status(self, pid: int) -> dict[str, Any]:
        status: dict[str, Any] = await self.call("guest-exec-status", {"pid": pid})
        return status

    async def run(self, path: str, args: list[str], timeout: float = 60.0) -> tuple[int, str]:
        """Run a short command to its end: (exit code, stdout + stderr)."""
        found = await self.call("guest-exec", {"path": path, "arg": args, "capture-output": True})
        pid = int(found["pid"])
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status = await self.exec_status(pid)
            if status.get("exited"):
                out = base64.b64decode(status.get("out-data", "")) + base64.b64decode(
                    status.get("err-data", "")
                )
                return int(status.get("exitcode", -1)), out.decode(errors="replace")
            if asyncio.get_running_loop().time() > deadline:
                raise AgentError(f"{path} did not finish in {timeout:.0f} s")
            await asyncio.sleep(0.1)

    async def write_file(self, path: str, data: bytes) -> None:
        handle = await self.call("guest-file-open", {"path": path, "mode": "w"})
        try:
            for at in range(0, max(len(data), 1), 1 << 20):
                chunk = base64.b64encode(data[at : at + (1 << 20)]).decode()
                await self.call("guest-file-write", {"handle": handle, "buf-b64": chunk})
        finally:
            await self.call("guest-file-close", {"handle": handle})

    async def read_from(self, path: str, offset: int) -> bytes | None:
        """The bytes of ``path`` from ``offset`` to its current end; None while the file does not exist."""
        try:
            handle = await self.call("guest-file-open", {"path": path, "mode": "r"})
        except AgentError:
            return None
        out = bytearray()
        try:
            if offset:
                await self.call("guest-file-seek", {"handle": handle, "offset": offset, "whence": "set"})
            while True:
                got = await self.call("guest-file-read", {"handle": handle, "count": 1 << 20})
                out += base64.b64decode(got.get("buf-b64", ""))
                if got.get("eof") or not got.get("count"):
                    break
        finally:
            await self.call("guest-file-close", {"handle": handle})
        return bytes(out)
