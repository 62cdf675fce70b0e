"""How the client subcommands print errors and resources."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from cli.client import ApiError, ConnectionFailed
from cli.config import ConfigError


def format_api_error(error: ApiError) -> list[str]:
    """ARM's error envelope for people: ``Code: message``, the target, then each detail at its target."""
    where = f" ({error.method} {error.url.split('?', 1)[0]})" if error.method else ""
    lines = [f"error: {error.code}: {error.message or 'HTTP ' + str(error.status)}"]
    if error.target:
        lines.append(f"  target: {error.target}")
    for detail in error.details:
        target = detail.get("target") or "(body)"
        lines.append(f"  {target}: {detail.get('message', '')} [{detail.get('code', '')}]")
    lines.append(f"  HTTP {error.status}{where}")
    return lines


def format_failure(exc: BaseException) -> list[str]:
    """Any error a client command can meet, as lines for stderr."""
    if isinstance(exc, ApiError):
        return format_api_error(exc)
    if isinstance(exc, ConnectionFailed | ValueError):
        return [f"error: {exc}"]
    return [f"error: {type(exc).__name__}: {exc}"]


def exit_code(exc: BaseException) -> int:
    """2 for usage problems (missing settings), 1 for everything the service refused or failed."""
    return 2 if isinstance(exc, ValueError) else 1


def guarded(action: Callable[[], int], err: TextIO | None = None) -> int:
    """Run a command body; print any client error readably and turn it into the exit code."""
    err = err or sys.stderr
    try:
        return action()
    except BrokenPipeError:
        # `kiln … | head` closed the pipe: stop quietly (and keep Python from complaining at exit).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ApiError, ConnectionFailed, ConfigError, ValueError) as exc:
        for line in format_failure(exc):
            print(line, file=err)
        return exit_code(exc)


def print_json(value: Any, out: TextIO | None = None) -> None:
    json.dump(value, out or sys.stdout, indent=2)
    (out or sys.stdout).write("\n")


def table(rows: Iterable[Iterable[Any]], headers: list[str]) -> list[str]:
    """Left-aligned columns; empty values shown as ``-``."""
    cells = [headers] + [[("-" if v in (None, "") else str(v)) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def outputs_lines(outputs: list[dict[str, Any]]) -> list[str]:
    """Run outputs as ``runOutputName: artifactId`` (+ artifactUri) lines."""
    if not outputs:
        return ["no run outputs"]
    lines = []
    for item in outputs:
        props = item.get("properties") or {}
        lines.append(f"{item.get('name')}:")
        if props.get("artifactId"):
            lines.append(f"  artifactId:  {props['artifactId']}")
        if props.get("artifactUri"):
            lines.append(f"  artifactUri: {props['artifactUri']}")
    return lines
