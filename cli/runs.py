"""``kiln run|cancel|runs|logs|outputs``: starting builds and watching them."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

import requests

from cli import config
from cli.client import KilnClient
from cli.follow import Display, follow_run
from cli.output import guarded, outputs_lines, print_json, table
from cli.progress import TERMINAL_STATES, state_words

SUCCESS = "Succeeded"
INTERRUPTED = 130  # the shell's code for SIGINT


def register(subparsers: Any) -> None:
    """Add the run subcommands to the ``kiln`` parser."""
    run = subparsers.add_parser("run", help="start a build of a template")
    run.add_argument("name", metavar="NAME")
    run.add_argument("--follow", "-f", action="store_true", help="show live progress until the run ends")
    run.add_argument("--interval", type=float, default=1.0, help="seconds between progress polls")
    run.set_defaults(handler=lambda a: _run(a, start_run))

    cancel = subparsers.add_parser("cancel", help="cancel the run in flight")
    cancel.add_argument("name", metavar="NAME")
    cancel.add_argument("--wait", action="store_true", help="wait until the run is Canceled")
    cancel.set_defaults(handler=lambda a: _run(a, cancel_run))

    runs = subparsers.add_parser("runs", help="list the runs of a template, newest first")
    runs.add_argument("name", metavar="NAME")
    runs.add_argument("--output", "-o", choices=("table", "json"), default="table")
    runs.set_defaults(handler=lambda a: _run(a, list_runs))

    logs = subparsers.add_parser("logs", help="print a run's customization.log")
    logs.add_argument("name", metavar="NAME")
    logs.add_argument("--run", dest="run_id", help="run id (default: the newest run)")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until the run ends")
    logs.set_defaults(handler=lambda a: _run(a, print_logs))

    outputs = subparsers.add_parser("outputs", help="show the run outputs (artifact ids and URIs)")
    outputs.add_argument("name", metavar="NAME")
    outputs.add_argument("--output", "-o", choices=("text", "json"), default="text")
    outputs.set_defaults(handler=lambda a: _run(a, show_outputs))

    for sub in (run, cancel, runs, logs, outputs):
        config.add_connection_options(sub)


def _run(args: argparse.Namespace, action: Any) -> int:
    return guarded(lambda: int(action(KilnClient(config.resolve(args)), args, sys.stdout)))


def run_id_of(resp: requests.Response, client: KilnClient, name: str, known: set[str]) -> str:
    """The id of the run a POST …/run started: from its body when given, else the newest run listed that
    was not there before (``known``)."""
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        props = body.get("properties") or {}
        for candidate in (body.get("runId"), props.get("runId"), body.get("name")):
            if isinstance(candidate, str) and "run" in candidate:
                return candidate
    for _ in range(40):
        fresh = [str(r["name"]) for r in client.list_runs(name) if r.get("name") not in known]
        if fresh:
            return fresh[0]
        time.sleep(0.25)
    raise ValueError(f"the run of {name} was accepted but does not appear in `kiln runs {name}`")


def start_run(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    known = {str(r.get("name")) for r in client.list_runs(args.name)}
    resp = client.start_run(args.name)
    run_id = run_id_of(resp, client, args.name, known)
    print(f"started run {run_id} of {args.name}", file=out)
    if not args.follow:
        print(f"follow it with: kiln logs {args.name} --follow   (or kiln runs {args.name})", file=out)
        return 0
    try:
        return follow_to_end(client, args.name, run_id, out=out, err=sys.stderr, interval=args.interval)
    except KeyboardInterrupt:
        print(f"\nstopped following; the run goes on (kiln cancel {args.name} cancels it)", file=sys.stderr)
        return INTERRUPTED


def follow_to_end(
    client: KilnClient,
    name: str,
    run_id: str,
    *,
    out: TextIO,
    err: TextIO,
    interval: float = 1.0,
    tty: bool | None = None,
) -> int:
    """Live progress until the run ends, then its outputs; 0 on Succeeded, 1 otherwise."""
    display = Display(out, tty=tty, template=name)
    run, log_lines = follow_run(client, name, run_id, display, interval=interval)
    props = run.get("properties") or {}
    state = props.get("runState")
    if state == SUCCESS:
        print("run outputs:", file=out)
        for line in outputs_lines(client.run_outputs(name)):
            print("  " + line, file=out)
        return 0
    message = str(props.get("message") or "(no message)")
    # The final block above showed the whole message, its log lines included: say how it ended in one line,
    # then only the log lines the message did not already show.
    print(f"run {run_id} ended {state}: {message.splitlines()[0]}", file=err)
    if state == "PartiallySucceeded":
        for line in outputs_lines(client.run_outputs(name)):
            print("  " + line, file=out)
    shown = {line.strip() for line in message.splitlines()}
    unseen = [line for line in log_lines if line.strip() not in shown]
    if unseen:
        print("last log lines:", file=err)
        for line in unseen:
            print("  " + line, file=err)
    return 1


def cancel_run(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    resp = client.cancel_run(args.name)
    print(f"cancel of {args.name} accepted", file=out)
    if not args.wait:
        return 0
    status = client.wait_operation(resp)
    print(f"cancel finished: {status.get('status')}", file=out)
    return 0 if status.get("status") == SUCCESS else 1


def list_runs(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    runs = client.list_runs(args.name)
    if args.output == "json":
        print_json(runs, out)
        return 0
    rows = []
    for run in runs:
        p = run.get("properties") or {}
        message = str(p.get("message") or "")
        rows.append(
            [
                run.get("name"),
                p.get("runState"),
                sub_state(p),
                p.get("startTime"),
                p.get("endTime"),
                message[:60] + ("…" if len(message) > 60 else ""),
            ]
        )
    for line in table(rows, ["RUN", "STATE", "SUBSTATE", "START", "END", "MESSAGE"]):
        print(line, file=out)
    return 0


def sub_state(props: dict[str, Any]) -> str | None:
    """``runSubState`` while it means something: AIB (and kiln's API with it) keeps the last one, e.g.
    ``Distributing``, on a run that Succeeded or was Canceled."""
    return None if props.get("runState") in TERMINAL_STATES else props.get("runSubState")


def print_logs(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    run_id = args.run_id
    if not run_id:
        runs = client.list_runs(args.name)
        if not runs:
            raise ValueError(f"{args.name} has no runs yet (start one with `kiln run {args.name}`)")
        run_id = str(runs[0]["name"])
    offset = 0
    while True:
        chunk = client.read_log(args.name, run_id, offset=offset, follow=args.follow)
        out.write(chunk.text)
        out.flush()
        offset = chunk.next_offset
        if not args.follow or (chunk.finished and not chunk.text):
            break
    if offset:
        return 0
    return say_no_log(client, args.name, run_id, finished=chunk.finished)


def say_no_log(client: KilnClient, name: str, run_id: str, *, finished: bool) -> int:
    """Nothing printed: say why on stderr; 1 when the run is over (it never will have a log)."""
    props = client.get_run(name, run_id).get("properties") or {}
    state = props.get("runState") or "?"
    if not finished:
        print(
            f"run {run_id} of {name} has written no log yet ({state_words(props)}); "
            f"`kiln logs {name} --follow` waits for it",
            file=sys.stderr,
        )
        return 0
    why = f": {props['message']}" if props.get("message") else ""
    print(
        f"run {run_id} of {name} has no customization.log (it ended {state}{why}); the log is written "
        "once the build VM runs customizers",
        file=sys.stderr,
    )
    return 1


def show_outputs(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    outputs = client.run_outputs(args.name)
    if args.output == "json":
        print_json(outputs, out)
    else:
        for line in outputs_lines(outputs):
            print(line, file=out)
    return 0
