"""``kiln validate FILE...``: check template files offline, exactly as the API would check them.

Exit codes: 0 every template in every file is valid; 1 something is invalid (including a file that is not
JSON or holds no template); 2 usage error or a file that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cli.template_files import (
    VALIDATABLE_API_VERSIONS,
    TemplateFileError,
    Verdict,
    join_path,
    placeholder_names,
    read_template_file,
    validate_found,
)
from shared.errors import ErrorDetail, KilnError

KIND_WORDS = {"template": "image template", "trigger": "trigger", "update": "image template update (PATCH)"}


@dataclass
class FileResult:
    """Everything found in one file, or why the file could not be checked (``error``)."""

    file: str
    verdicts: list[Verdict] = field(default_factory=list)
    error: KilnError | None = None
    unreadable: bool = False

    @property
    def valid(self) -> bool:
        return self.error is None and all(v.valid for v in self.verdicts)


def register(subparsers: Any) -> None:
    """Add the ``validate`` subcommand to the ``kiln`` parser."""
    parser = subparsers.add_parser(
        "validate",
        help="check image template files offline",
        description="Check image template files offline: raw resource bodies, ARM deployment templates, "
        "REST API examples and trigger bodies; JSON with comments and trailing commas is accepted.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="replace [parameters('NAME')], [variables('NAME')] and <NAME> tokens (repeatable)",
    )
    parser.add_argument(
        "--api-version", choices=VALIDATABLE_API_VERSIONS, help="validate against this API version"
    )
    parser.add_argument("--output", choices=("text", "json"), default="text", help="output format")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Validate every file named in ``args`` and print the verdicts; return the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        params = parse_params(args.param)
        check_params_used(params, args.files)
    except ValueError as exc:
        print(f"kiln validate: {exc}", file=err)
        return 2
    results = [check_file(path, params=params, api_version=args.api_version) for path in args.files]
    if args.output == "json":
        json.dump([entry for r in results for entry in json_entries(r)], out, indent=2)
        out.write("\n")
    else:
        print_text(results, out)
    if any(r.unreadable for r in results):
        return 2
    return 0 if all(r.valid for r in results) else 1


def parse_params(pairs: list[str], *, option: str = "--param") -> dict[str, str]:
    """``["name=value", ...]`` → ``{"name": "value"}``; the value may itself contain ``=``."""
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{option} expects NAME=VALUE, got {pair!r}")
        params[name.strip()] = value
    return params


def check_params_used(params: dict[str, str], files: list[str]) -> None:
    """A ValueError naming each ``--param`` no file refers to (a misspelt name would change nothing)."""
    if not params:
        return
    known: set[str] = set()
    for path in files:
        try:
            known |= placeholder_names(Path(path).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return  # the file's own error is reported where it is read
    unknown = [name for name in params if name.lower() not in known]
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        raise ValueError(
            f"--param {', '.join(unknown)}: no [parameters('…')], [variables('…')] or <…> placeholder of "
            f"that name in {', '.join(files)} (its placeholders: {names})"
        )


def check_file(path: str, *, params: dict[str, str], api_version: str | None) -> FileResult:
    """Read one file, find its templates and validate each."""
    try:
        found = read_template_file(path, params=params)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        message = f"Cannot read {path}: {reason}."
        return FileResult(path, error=KilnError("FileNotReadable", message), unreadable=True)
    except TemplateFileError as exc:
        return FileResult(path, error=exc)
    return FileResult(path, verdicts=[validate_found(f, api_version=api_version) for f in found])


def json_entries(result: FileResult) -> list[dict[str, Any]]:
    """The ``--output json`` entries of one file: one per template, or one for the file's own error."""
    if result.error is not None:
        return [{"file": result.file, "path": "", "valid": False, "error": result.error.to_arm()}]
    return [v.to_json(result.file) for v in result.verdicts]


def _marks(stream: TextIO) -> tuple[str, str]:
    # A Windows console or a C locale may not encode the check marks.
    try:
        "✔✘".encode(stream.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return "OK", "FAIL"
    return "✔", "✘"


def print_text(results: list[FileResult], out: TextIO) -> None:
    """One line per file/template with its verdict, then each problem as ``  target: message [code]``."""
    ok, bad = _marks(out)
    for result in results:
        if result.error is not None:
            print(f"{bad} {result.file}: {result.error.message} [{result.error.code}]", file=out)
            continue
        for verdict in result.verdicts:
            _print_verdict(result.file, verdict, ok, bad, out)
    templates = sum(len(r.verdicts) for r in results)
    invalid = sum(1 for r in results for v in r.verdicts if not v.valid)
    broken = sum(1 for r in results if r.error is not None)
    summary = (
        f"{len(results)} file(s), {templates} template(s): {templates - invalid} valid, {invalid} invalid"
    )
    print(summary + (f", {broken} file(s) could not be validated" if broken else ""), file=out)
    if any(d.code == "UnresolvedPlaceholder" for r in results for v in r.verdicts for d in _details(v)):
        print(
            "hint: --param NAME=VALUE replaces [parameters('NAME')], [variables('NAME')] and <NAME> tokens",
            file=out,
        )


def _details(verdict: Verdict) -> list[ErrorDetail]:
    return verdict.error.details if verdict.error else []


def _print_verdict(file: str, verdict: Verdict, ok: str, bad: str, out: TextIO) -> None:
    found = verdict.found
    where = f"{file} {found.path}" if found.path else file
    what = f"{KIND_WORDS[found.kind]}, api-version {verdict.api_version}"
    if verdict.error is None:
        print(f"{ok} {where}: valid {what}", file=out)
    else:
        count = len(verdict.error.details)
        print(f"{bad} {where}: {count} problem(s) in {what}", file=out)
    for note in verdict.notes:
        print(f"  note: {note}", file=out)
    for detail in verdict.error.details if verdict.error else []:
        target = join_path(found.path, detail.target) or "(body)"
        print(f"  {target}: {detail.message} [{detail.code}]", file=out)
