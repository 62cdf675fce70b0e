"""The ``kiln`` command: one argparse subcommand per module (``validate`` offline; ``template``, ``run``,
``cancel``, ``runs``, ``logs``, ``outputs`` as clients of kiln's REST API). Each module exposes
``register(subparsers)``, which sets ``handler`` to a function taking the parsed arguments and returning the
exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import runs, schedules, templates, validate

COMMANDS = (validate, templates, runs, schedules)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiln", description="kiln: a self-hosted, API-compatible Azure VM Image Builder."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kiln`` with ``argv`` (default: the process's arguments) and return the exit code.

    Usage errors exit 2 (argparse's convention, kept for every subcommand).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
