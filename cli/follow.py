"""Following a run: poll its document and its log, and draw the progress (in place on a terminal)."""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from cli.client import ApiError, KilnClient
from cli.progress import ASCII, UNICODE, Marks, format_duration, is_finished, render_block, summary_line

LOG_LINES_SHOWN = 3
LOG_LINES_KEPT = 20


def pick_marks(stream: TextIO) -> Marks:
    # A C locale or a Windows console may not encode the marks.
    try:
        "✔✘▶·".encode(stream.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return ASCII
    return UNICODE


class Display:
    """Redraws the block in place with ANSI codes on a TTY; appends a summary line on change otherwise."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, template: str = "") -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.template = template
        self.marks = pick_marks(stream)
        self._drawn = 0
        self._last_summary: str | None = None
        self._started = time.monotonic()

    def update(self, run: dict[str, Any], *, now: datetime, log_tail: list[str] | None = None) -> None:
        if self.tty:
            block = render_block(
                run, now=now, template=self.template, log_tail=log_tail, marks=self.marks, width=self._width()
            )
            self._redraw(block)
            return
        summary = summary_line(run)
        if summary != self._last_summary:
            self._last_summary = summary
            stamp = format_duration(time.monotonic() - self._started)
            self.stream.write(f"[{stamp}] {summary}\n")
            self.stream.flush()

    def finish(self, run: dict[str, Any], *, now: datetime) -> None:
        """The final state as a full block (replacing the live one on a TTY)."""
        width = self._width() if self.tty else None
        lines = render_block(run, now=now, template=self.template, marks=self.marks, width=width)
        if self.tty:
            self._redraw(lines)
        else:
            self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()

    @staticmethod
    def _width() -> int:
        return max(shutil.get_terminal_size((120, 24)).columns - 1, 20)

    def _redraw(self, lines: list[str]) -> None:
        # Lines wider than the terminal would wrap and break the cursor arithmetic: cut them (the phase
        # line is fitted before, keeping the phase in progress); a message's lines are lines of their own.
        width = self._width()
        lines = [part for line in lines for part in line.split("\n")]
        lines = [line if len(line) <= width else line[: width - 1] + "…" for line in lines]
        up = f"\x1b[{self._drawn}F\x1b[J" if self._drawn else ""
        self.stream.write(up + "\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)


class LogTail:
    """Reads a run's log incrementally and keeps its last lines."""

    def __init__(self, client: KilnClient, name: str, run_id: str) -> None:
        self.client, self.name, self.run_id = client, name, run_id
        self.offset = 0
        self.lines: deque[str] = deque(maxlen=LOG_LINES_KEPT)
        self._partial = ""

    def poll(self) -> None:
        try:
            chunk = self.client.read_log(self.name, self.run_id, offset=self.offset)
        except ApiError as e:
            if e.status == 404:  # no log yet (the staging account is made in the deploy phase)
                return
            raise
        self.offset = chunk.next_offset
        text = self._partial + chunk.text
        *complete, self._partial = text.split("\n")
        self.lines.extend(line.rstrip("\r") for line in complete if line.strip())


def follow_run(
    client: KilnClient,
    name: str,
    run_id: str,
    display: Display,
    *,
    interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    attempts_before_found: int = 30,
) -> tuple[dict[str, Any], list[str]]:
    """Poll until the run ends; return its last document and the last log lines."""
    log = LogTail(client, name, run_id)
    missing = 0
    while True:
        try:
            run = client.get_run(name, run_id)
        except ApiError as e:
            # 404: the run document is written by the first status update, a moment after the POST;
            # 5xx: a busy host. Both are worth a few more polls, nothing else is.
            missing += 1
            if (e.status != 404 and e.status < 500) or missing > attempts_before_found:
                raise
            sleep(interval)
            continue
        missing = 0
        log.poll()
        if is_finished(run):
            display.finish(run, now=datetime.now(UTC))
            return run, list(log.lines)
        display.update(run, now=datetime.now(UTC), log_tail=list(log.lines)[-LOG_LINES_SHOWN:])
        sleep(interval)
