"""A managed run command on a QEMU VM: the script really runs in the guest, as root, through the guest agent.

The script goes to ``/var/lib/azuresim/runcommand/<id>/script`` and runs in a session of its own
(``setsid``), its stdin from ``/dev/null`` and its stdout and stderr redirected to files beside it; one
``guest-exec`` makes the folder, writes the script (its standard input) and starts it. Whether it has
ended is asked every 0.05 s at first, then less often, up to twice a second (one ``guest-exec-status``, a
few ms: a short script's end is seen within a tenth of a second); twice a second the new bytes of both
files are appended to the command's output / error append blobs and the instance view, so a reader of the
blobs follows the script live. The command's ``timeoutInSeconds`` kills the script's whole process
group in the guest. The exit code is the script's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable

from azuresim.qemu.agent import AgentError, GuestAgent

POLL_SECONDS = 0.5  # the longest pause between two looks at a running script
FIRST_POLL_SECONDS = 0.05
POLL_BACKOFF = 1.5
TAIL = 4096
_WRAPPER = (
    'd="$0"; mkdir -p "$d" && cat > "$d/script" || exit 125; echo $$ > "$d/pgid"; '
    'cd /root 2>/dev/null || cd /; chmod 700 "$d/script"; '
    'if [ "$(head -c 2 "$d/script")" = "#!" ]; then "$d/script" </dev/null >"$d/stdout" 2>"$d/stderr"; '
    'else /bin/sh "$d/script" </dev/null >"$d/stdout" 2>"$d/stderr"; fi'
)

Append = Callable[[str, str], Awaitable[str]]  # (blob property, text) -> problem ("" when fine)


class Outcome:
    def __init__(self) -> None:
        self.out = bytearray()
        self.err = bytearray()
        self.exit_code: int | None = None
        self.state = "Running"
        self.message = ""


async def _pump(agent: GuestAgent, folder: str, outcome: Outcome, append: Append) -> bool:
    """Append what the script wrote since the last look; whether it wrote anything."""
    grew = False
    for name, buf, prop in (
        ("stdout", outcome.out, "outputBlobUri"),
        ("stderr", outcome.err, "errorBlobUri"),
    ):
        new = await agent.read_from(f"{folder}/{name}", len(buf))
        if new:
            grew = True
            buf += new
            problem = await append(prop, new.decode(errors="replace"))
            if problem:
                outcome.message = problem
    return grew


async def _kill_group(agent: GuestAgent, folder: str) -> None:
    # Every process of the script's session (its pid file holds the session id), one by one.
    script = (
        f'sid=$(cat {folder}/pgid); kill -9 -"$sid" 2>/dev/null; '
        'for s in /proc/[0-9]*/stat; do set -- $(cat "$s" 2>/dev/null); '
        '[ "$6" = "$sid" ] && kill -9 "$1" 2>/dev/null; done; true'
    )
    with contextlib.suppress(AgentError):
        await agent.run("/bin/sh", ["-c", script], timeout=15)


async def run(
    agent: GuestAgent,
    script: str,
    *,
    timeout_seconds: int,
    alive: Callable[[], bool],
    append: Append,
    report: Callable[[Outcome], None],
) -> Outcome:
    """Run ``script`` in the guest to its end (or its timeout); ``report`` is called after every poll."""
    outcome = Outcome()
    folder = f"/var/lib/azuresim/runcommand/{uuid.uuid4().hex}"
    pid = await agent.exec(
        "/usr/bin/setsid", ["-w", "/bin/sh", "-c", _WRAPPER, folder], input_data=script.encode()
    )
    started = pumped = time.monotonic()
    pause = FIRST_POLL_SECONDS
    while True:
        await asyncio.sleep(pause)
        pause = min(pause * POLL_BACKOFF, POLL_SECONDS)
        if not alive():
            outcome.state, outcome.message = "Failed", "The VM stopped while the command was running."
            break
        grew = False
        try:
            status = await agent.exec_status(pid)
            if status.get("exited"):  # its output is read once more, after the loop
                outcome.exit_code = int(status.get("exitcode", -1))
                outcome.state = "Succeeded" if outcome.exit_code == 0 else "Failed"
                break
            if time.monotonic() - pumped >= POLL_SECONDS - 0.01:
                pumped = time.monotonic()
                grew = await _pump(agent, folder, outcome, append)
        except AgentError as exc:
            outcome.state, outcome.message = "Failed", f"The VM agent stopped answering: {exc}"
            break
        if timeout_seconds > 0 and time.monotonic() - started > timeout_seconds:
            await _kill_group(agent, folder)
            outcome.state, outcome.message = "TimedOut", "Execution timed out."
            break
        if grew:
            report(outcome)
    if outcome.state != "Failed" or outcome.exit_code is not None:
        with contextlib.suppress(AgentError):
            await _pump(agent, folder, outcome, append)
    return outcome


def tail(data: bytearray) -> str:
    return bytes(data[-TAIL:]).decode(errors="replace")
