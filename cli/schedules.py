"""``kiln trigger create|list|show|delete``, ``kiln cycles`` and ``kiln outdated``: a template's triggers
(SourceImage, and kiln's Schedule), the patch cycles they start, and the templates built from an outdated
source (docs/cycles.md)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO
from urllib.parse import quote

from cli import config
from cli.client import KilnClient
from cli.output import guarded, print_json, table

PROVIDER = "providers/Microsoft.VirtualMachineImages"
TERMINAL = frozenset({"Succeeded", "PartiallySucceeded", "Failed"})


def register(subparsers: Any) -> None:
    """Add ``trigger``, ``cycles`` and ``outdated`` to the ``kiln`` parser."""
    trigger = subparsers.add_parser("trigger", help="a template's triggers (SourceImage, Schedule)")
    verbs = trigger.add_subparsers(dest="verb", metavar="VERB", required=True)
    create = verbs.add_parser("create", help="create a trigger")
    create.add_argument("name", metavar="TEMPLATE")
    create.add_argument("trigger", metavar="TRIGGER")
    create.add_argument("--kind", choices=("Schedule", "SourceImage"), default="Schedule")
    create.add_argument("--schedule", help="cron (5 fields) or NCRONTAB (6 fields), e.g. '0 2 * * 6'")
    create.add_argument("--time-zone", help="IANA time zone the schedule is read in (default UTC)")
    create.add_argument("--mode", choices=("always", "whenChanged"), help="build always or only on a change")
    create.add_argument("--cycle", help="cycle name grouping templates built together")
    create.set_defaults(handler=lambda a: _run(a, create_trigger))
    listed = verbs.add_parser("list", help="list a template's triggers")
    listed.add_argument("name", metavar="TEMPLATE")
    listed.add_argument("--output", "-o", choices=("table", "json"), default="table")
    listed.set_defaults(handler=lambda a: _run(a, list_triggers))
    show = verbs.add_parser("show", help="show one trigger")
    show.add_argument("name", metavar="TEMPLATE")
    show.add_argument("trigger", metavar="TRIGGER")
    show.set_defaults(handler=lambda a: _run(a, show_trigger))
    delete = verbs.add_parser("delete", help="delete a trigger")
    delete.add_argument("name", metavar="TEMPLATE")
    delete.add_argument("trigger", metavar="TRIGGER")
    delete.set_defaults(handler=lambda a: _run(a, delete_trigger))

    cycles = subparsers.add_parser("cycles", help="patch cycles, newest first, or one cycle")
    cycles.add_argument("cycle_id", nargs="?", metavar="CYCLE")
    cycles.add_argument("--follow", "-f", action="store_true", help="refresh one cycle until it ends")
    cycles.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    cycles.add_argument("--output", "-o", choices=("table", "json"), default="table")
    cycles.set_defaults(handler=lambda a: _run(a, show_cycles))

    outdated = subparsers.add_parser("outdated", help="templates whose latest image has an outdated source")
    outdated.add_argument("--output", "-o", choices=("table", "json"), default="table")
    outdated.set_defaults(handler=lambda a: _run(a, list_outdated))

    for sub in (create, listed, show, delete, cycles, outdated):
        config.add_connection_options(sub)


def _run(args: argparse.Namespace, action: Any) -> int:
    return guarded(lambda: int(action(KilnClient(config.resolve(args)), args, sys.stdout)))


def _trigger_path(client: KilnClient, name: str, trigger: str | None = None) -> str:
    path = client.template_path(name) + "/triggers"
    return path + f"/{quote(trigger, safe='')}" if trigger else path


def _provider(client: KilnClient) -> str:
    return f"/subscriptions/{quote(client.conn.subscription, safe='')}/{PROVIDER}"


def trigger_body(args: argparse.Namespace) -> dict[str, Any]:
    """The trigger PUT body from the command line (only what was given: kiln validates the rest)."""
    props: dict[str, Any] = {"kind": args.kind}
    for key, value in (
        ("schedule", args.schedule),
        ("timeZone", args.time_zone),
        ("mode", args.mode),
        ("cycleName", args.cycle),
    ):
        if value is not None:
            props[key] = value
    return {"properties": props}


def create_trigger(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    print_json(
        client.json("PUT", _trigger_path(client, args.name, args.trigger), json=trigger_body(args)), out
    )
    return 0


def show_trigger(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    print_json(client.json("GET", _trigger_path(client, args.name, args.trigger)), out)
    return 0


def delete_trigger(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    resp = client.request("DELETE", _trigger_path(client, args.name, args.trigger))
    print("deleted" if resp.status_code in (200, 202) else "no such trigger", file=out)
    return 0


def list_triggers(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    triggers = client.list_all(_trigger_path(client, args.name))
    if args.output == "json":
        print_json(triggers, out)
        return 0
    rows = []
    for t in triggers:
        p = t.get("properties") or {}
        when = (
            f"{p.get('schedule')} ({p.get('timeZone')})"
            if p.get("kind") == "Schedule"
            else "new source version"
        )
        status = p.get("status") or {}
        rows.append(
            [
                t.get("name"),
                p.get("kind"),
                when,
                p.get("mode") or "",
                p.get("cycleName") or "",
                status.get("code"),
            ]
        )
    for line in table(rows, ["TRIGGER", "KIND", "WHEN", "MODE", "CYCLE", "STATUS"]):
        print(line, file=out)
    return 0


def cycle_lines(cycle: dict[str, Any]) -> list[str]:
    """One cycle as the terminal shows it: its window and state, then each outcome with its run id."""
    p = cycle.get("properties") or {}
    c = p.get("counts") or {}
    late = f", late by {p.get('lateBySeconds')} s ({p.get('missedWindows')} missed)" if p.get("late") else ""
    lines = [
        f"{cycle.get('name')}: {p.get('state')} — due {p.get('dueTime')}{late}, "
        f"started {p.get('startTime')}, duration {p.get('durationSeconds')} s",
        f"  templates {c.get('templates', 0)}: started {c.get('started', 0)} "
        f"(in flight {c.get('inFlight', 0)}), succeeded {c.get('succeeded', 0)}, "
        f"failed {c.get('failed', 0)}, skipped unchanged "
        f"{c.get('skippedUnchanged', 0)}, skipped in flight {c.get('skippedInFlight', 0)}, disabled "
        f"{c.get('skippedDisabled', 0)}, waiting {c.get('pending', 0)}",
    ]
    for key in ("failed", "skippedInFlight", "skippedUnchanged", "skippedDisabled", "skipped"):
        for item in p.get(key) or []:
            reason = str(item.get("reason") or "")
            run = item.get("runId") or item.get("lastRunId") or ""
            lines.append(f"  {key}: {str(item.get('template', '')).rsplit('/', 1)[-1]} {run} {reason[:80]}")
    return lines


def show_cycles(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    path = _provider(client) + "/patchCycles"
    if args.cycle_id is None:
        cycles = client.list_all(path)
        if args.output == "json":
            print_json(cycles, out)
            return 0
        rows = []
        for cycle in cycles:
            p, c = cycle.get("properties") or {}, (cycle.get("properties") or {}).get("counts") or {}
            rows.append(
                [
                    cycle.get("name"),
                    p.get("state"),
                    p.get("dueTime"),
                    c.get("started"),
                    c.get("inFlight"),
                    c.get("succeeded"),
                    c.get("failed"),
                    c.get("skippedUnchanged"),
                    c.get("skippedInFlight"),
                    p.get("durationSeconds"),
                ]
            )
        headers = [
            "CYCLE",
            "STATE",
            "DUE",
            "STARTED",
            "BUILDING",
            "SUCCEEDED",
            "FAILED",
            "UNCHANGED",
            "WAS BUSY",
            "SECONDS",
        ]
        for line in table(rows, headers):
            print(line, file=out)
        return 0
    while True:
        cycle = client.json("GET", f"{path}/{quote(args.cycle_id, safe='')}")
        if args.output == "json":
            print_json(cycle, out)
        else:
            for line in cycle_lines(cycle):
                print(line, file=out)
        if not args.follow or (cycle.get("properties") or {}).get("state") in TERMINAL:
            return 0 if (cycle.get("properties") or {}).get("state") != "Failed" else 1
        time.sleep(args.interval)


def list_outdated(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    found = client.json("GET", _provider(client) + "/outdatedImageTemplates").get("value") or []
    if args.output == "json":
        print_json(found, out)
        return 0
    rows = [
        [str(f.get("template", "")).rsplit("/", 1)[-1], f.get("builtFrom"), f.get("latest"), f.get("runId")]
        for f in found
    ]
    for line in table(rows, ["TEMPLATE", "BUILT FROM", "LATEST", "RUN"]):
        print(line, file=out)
    return 0
