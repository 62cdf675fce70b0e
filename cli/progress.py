"""The ``run --follow`` display as pure functions of a run document (``GET {base}/runs/{runId}``).

``render_block`` gives the lines redrawn in place on a terminal; ``summary_line`` the one line appended when
something changed on a plain output (a pipe, CI logs). Neither reads the clock: the caller passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TERMINAL_STATES = frozenset({"Succeeded", "PartiallySucceeded", "Failed", "Canceled"})


@dataclass(frozen=True)
class Marks:
    done: str
    failed: str
    running: str
    other: str


UNICODE = Marks("✔", "✘", "▶", "·")
ASCII = Marks("ok", "x", ">", "-")


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time as kiln writes it (``Z`` or an offset), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_duration(seconds: float) -> str:
    """``0.4s`` under ten seconds, ``m:ss`` below an hour, ``h:mm:ss`` above."""
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def elapsed(props: dict[str, Any], now: datetime) -> float | None:
    start = parse_time(props.get("startTime"))
    if start is None:
        return None
    end = parse_time(props.get("endTime")) or now
    return (end - start).total_seconds()


def state_words(props: dict[str, Any]) -> str:
    state = props.get("runState") or "Unknown"
    sub = props.get("runSubState")
    return f"{state} / {sub}" if sub and state not in TERMINAL_STATES else str(state)


def _mark(state: Any, marks: Marks) -> str:
    text = str(state or "")
    if text in ("Succeeded", "Completed", "Skipped"):
        return marks.done
    if text in ("Failed", "Canceled", "Cancelled", "TimedOut"):
        return marks.failed
    if text in ("Running", "InProgress", "Replicating", "Canceling"):
        return marks.running
    return marks.other


def phase_line(phases: list[dict[str, Any]], marks: Marks, width: int | None = None) -> str:
    """``✔ resolve 0.4s  ✔ preflight 0.1s  ▶ deploy`` (durations of finished phases). Wider than ``width``,
    the oldest phases give way to ``…``: the phase in progress is the one worth seeing."""
    parts = []
    for phase in phases:
        start, end = parse_time(phase.get("startTime")), parse_time(phase.get("endTime"))
        took = f" {format_duration((end - start).total_seconds())}" if start and end else ""
        parts.append(f"{_mark(phase.get('state'), marks)} {phase.get('phase')}{took}")
    line = "  ".join(parts)
    while width is not None and len(line) > width and len(parts) > 1:
        parts.pop(0)
        line = "…  " + "  ".join(parts)
    return line


def step_text(step: dict[str, Any] | None) -> str | None:
    """``customize[1] install-tools: Running`` — the index is the customizer's position in the template."""
    if not step:
        return None
    where = f"{step.get('phase', '?')}[{step.get('index', '?')}]"
    name = f" {step['name']}" if step.get("name") else ""
    state = f": {step['state']}" if step.get("state") else ""
    return f"{where}{name}{state}"


def current_step(props: dict[str, Any]) -> dict[str, Any] | None:
    """The step worth showing: one of the phase in progress, or the one a failed run stopped at.

    The run document keeps the last step after its phase ends (generalize's while distributing); shown
    then, it would read as if it were still running.
    """
    step = props.get("step")
    if not step:
        return None
    phases = props.get("phases") or []
    latest = phases[-1].get("phase") if phases else None
    if step.get("phase") == latest or props.get("runState") in ("Failed", "Canceled"):
        return dict(step)
    return None


def region_state(value: Any) -> str:
    """A region's state: the string kiln reports, or the ``state`` of a region reported with its times."""
    if isinstance(value, dict):
        return str(value.get("state") or value.get("status") or "Unknown")
    return str(value)


def target_lines(target: dict[str, Any], marks: Marks) -> list[str]:
    """One line per target, one more with its regions, one with its error."""
    head = f"{_mark(target.get('state'), marks)} {target.get('runOutputName')} ({target.get('type', '?')}): "
    lines = [head + str(target.get("state") or "Pending")]
    regions = target.get("regions") or {}
    if regions:
        lines.append("    " + "   ".join(f"{region}: {region_state(v)}" for region, v in regions.items()))
    error = target.get("error")
    if error:
        text = error.get("message") if isinstance(error, dict) else error
        code = f" [{error.get('code')}]" if isinstance(error, dict) and error.get("code") else ""
        lines.append(f"    error: {text}{code}")
    return lines


def render_block(
    run: dict[str, Any],
    *,
    now: datetime,
    template: str = "",
    log_tail: list[str] | None = None,
    marks: Marks = UNICODE,
    width: int | None = None,
) -> list[str]:
    """The in-place display: header, phases, current step, targets with regions, the newest log lines;
    the phase line fitted to ``width`` columns when given."""
    props = run.get("properties") or {}
    took = elapsed(props, now)
    header = f"{template + ' ' if template else ''}run {run.get('name', '?')}: {state_words(props)}"
    lines = [header + (f"   elapsed {format_duration(took)}" if took is not None else "")]
    if props.get("phases"):
        fit = None if width is None else width - len("  phases  ")
        lines.append("  phases  " + phase_line(props["phases"], marks, fit))
    step = step_text(current_step(props))
    if step:
        lines.append("  step    " + step)
    for target in props.get("targets") or []:
        lines += ["  " + line for line in target_lines(target, marks)]
    if props.get("message") and props.get("runState") in TERMINAL_STATES:
        lines.append(f"  message {props['message']}")
    for line in log_tail or []:
        lines.append(f"  | {line}")
    return lines


def summary_line(run: dict[str, Any]) -> str:
    """One line without times: equal lines mean nothing worth reporting changed."""
    props = run.get("properties") or {}
    parts = [state_words(props)]
    phases = props.get("phases") or []
    if phases:
        current = phases[-1]
        parts.append(f"phase {current.get('phase')} {current.get('state', '')}".rstrip())
    step = step_text(current_step(props))
    if step:
        parts.append(f"step {step}")
    for target in props.get("targets") or []:
        regions = target.get("regions") or {}
        detail = ", ".join(f"{r} {region_state(v)}" for r, v in regions.items())
        parts.append(
            f"{target.get('runOutputName')} {target.get('state') or 'Pending'}"
            + (f" ({detail})" if detail else "")
        )
    return " | ".join(parts)


def is_finished(run: dict[str, Any]) -> bool:
    return (run.get("properties") or {}).get("runState") in TERMINAL_STATES
