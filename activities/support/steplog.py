"""``customization.log``: every step's output, appended with a header per step, in the staging account.

AIB keeps the log at ``packerlogs/<run>/customization.log``; users look for it there, so kiln does too. A
step's outcome is recorded next to its output once appended, so a retried ``run_step`` neither appends the
same output twice nor loses the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared import naming
from shared.errors import AzureNotFound
from shared.models.build import BuildVm
from shared.ports import Blobs, BuildPorts

TAIL_LINES = 20
# Run Command may queue behind the VM agent before its timeout starts counting: the SAS outlives it by this.
SAS_MARGIN_SECONDS = 3600


def staging(vm: BuildVm, ports: BuildPorts) -> tuple[Blobs, str]:
    """The build VM's staging account, where its steps' output and the log live: its blobs and its URL."""
    url = ports.storage_account_url(vm.storage_account)
    return ports.blobs(account_url=url), url


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ensure_log(blobs: Blobs, run_id: str) -> None:
    """Create the run's ``customization.log`` append blob if it does not exist yet."""
    name = naming.customization_log_blob(run_id)
    try:
        present = name in blobs.list_names(container=naming.LOG_CONTAINER, prefix=name)
    except AzureNotFound:  # the container itself is missing
        blobs.ensure_container(container=naming.LOG_CONTAINER)
        present = False
    if not present:
        blobs.create_append_blob(container=naming.LOG_CONTAINER, name=name)


def ensure_append_blob(blobs: Blobs, account_url: str, name: str) -> str:
    """The URL of an append blob in ``packerlogs``, created only if missing (a retry keeps its content)."""
    blobs.ensure_container(container=naming.LOG_CONTAINER)
    try:
        blobs.read_from(container=naming.LOG_CONTAINER, name=name, offset=0)
    except AzureNotFound:
        return blobs.create_append_blob(container=naming.LOG_CONTAINER, name=name)
    return f"{account_url.rstrip('/')}/{naming.LOG_CONTAINER}/{name}"


def writable_blob(blobs: Blobs, account_url: str, name: str, valid_seconds: int) -> str:
    """A SAS URL Azure can write a Run Command's output with (created first if missing).

    The URL carries a credential: it goes to Azure in the Run Command's PUT and nowhere else, never into
    an activity's output (Durable history) or a log line.
    """
    ensure_append_blob(blobs, account_url, name)
    return blobs.writable_url(container=naming.LOG_CONTAINER, name=name, valid_seconds=valid_seconds)


def read_text(blobs: Blobs, name: str) -> str:
    """A step output blob as text ('' when the command never wrote it)."""
    try:
        data = blobs.read_from(container=naming.LOG_CONTAINER, name=name, offset=0)
    except AzureNotFound:
        return ""
    return data.decode("utf-8", errors="replace")


@dataclass
class LiveLog:
    """How far a running step's output has been copied into ``customization.log``: kept in ``marker`` (a
    blob beside the step's outcome, for the next activity call) and in ``offset`` (for the next look of the
    same call, which then reads no marker)."""

    marker: str
    offset: int | None = None  # None: not read yet
    unrecorded: bool = False  # a look of this call found no recorded outcome: later ones need not ask
    log_ready: bool = False  # customization.log exists (this call made sure of it)

    def copied(self, blobs: Blobs) -> int:
        if self.offset is None:
            try:
                self.offset = int(blobs.download(container=naming.LOG_CONTAINER, name=self.marker) or 0)
            except (AzureNotFound, ValueError):
                self.offset = 0
        return self.offset


def copy_live(blobs: Blobs, run_id: str, output: str, live: LiveLog, header: str) -> None:
    """While a step runs, append the complete lines its Run Command has written to its output blob since the
    last look (under ``header`` before the first ones), and remember how far it got. A look that fails
    between the append and the marker appends those lines again at the next look."""
    offset = live.copied(blobs)
    try:
        data = blobs.read_from(container=naming.LOG_CONTAINER, name=output, offset=offset)
    except AzureNotFound:
        return
    end = data.rfind(b"\n") + 1
    if end == 0:
        return
    lines = [f"==> [{_now()}] {header}"] if offset == 0 else []
    lines += [f"    {line}" for line in data[:end].decode("utf-8", errors="replace").splitlines()]
    if not live.log_ready:
        ensure_log(blobs, run_id)
        live.log_ready = True
    text = "\n".join(lines) + "\n"
    blobs.append(
        container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run_id), data=text.encode()
    )
    live.offset = offset + end
    blobs.upload(container=naming.LOG_CONTAINER, name=live.marker, data=str(live.offset).encode())


def append_step(
    blobs: Blobs, run_id: str, header: str, stdout: str, stderr: str, *, copied: int = 0
) -> list[str]:
    """Append one step's output under a timestamped header; return its last lines. When ``copied`` bytes of
    its output went to the log while it ran (``copy_live``), only the rest is appended, then the header."""
    ensure_log(blobs, run_id)
    if copied:
        rest = stdout.encode()[copied:].decode("utf-8", errors="replace")
        lines = [f"    {line}" for line in rest.splitlines()] + [f"==> [{_now()}] {header}"]
    else:
        lines = [f"==> [{_now()}] {header}"] + [f"    {line}" for line in stdout.splitlines()]
    if stderr.strip():
        lines.append(f"==> [{_now()}] {header}: stderr")
        lines += [f"    {line}" for line in stderr.splitlines()]
    text = "\n".join(lines) + "\n"
    blobs.append(
        container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run_id), data=text.encode()
    )
    output = stdout.splitlines() + stderr.splitlines()
    return output[-TAIL_LINES:]


def append_line(blobs: Blobs, run_id: str, message: str) -> None:
    """Append one timestamped line (a phase header, a restart, a note) to the log."""
    ensure_log(blobs, run_id)
    line = f"==> [{_now()}] {message}\n"
    blobs.append(
        container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run_id), data=line.encode()
    )
