"""``kiln template create|show|list|delete``: image templates over kiln's REST API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from cli import config
from cli.client import KilnClient
from cli.output import guarded, print_json, table
from cli.progress import state_words
from cli.template_files import FoundTemplate, TemplateFileError, read_template_file
from cli.validate import parse_params


def register(subparsers: Any) -> None:
    """Add ``template`` and its subcommands to the ``kiln`` parser."""
    parser = subparsers.add_parser("template", help="create, show, list and delete image templates")
    commands = parser.add_subparsers(dest="template_command", metavar="ACTION", required=True)

    create = commands.add_parser("create", help="create image templates from a file (PUT)")
    create.add_argument("file", metavar="FILE")
    create.add_argument("--name", "-n", help="template name (default: the name in the file, else its stem)")
    create.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="as kiln validate")
    create.set_defaults(handler=lambda a: _run(a, create_templates))

    show = commands.add_parser("show", help="show one template (GET)")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(handler=lambda a: _run(a, show_template))

    listing = commands.add_parser("list", help="list templates of the resource group (or subscription)")
    listing.add_argument("--output", "-o", choices=("table", "json"), default="table")
    listing.set_defaults(handler=lambda a: _run(a, list_templates))

    delete = commands.add_parser("delete", help="delete a template (and what its runs left)")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--no-wait", action="store_true", help="return once the delete is accepted")
    delete.set_defaults(handler=lambda a: _run(a, delete_template))

    for sub in (create, show, listing, delete):
        config.add_connection_options(sub)


def _run(args: argparse.Namespace, action: Any) -> int:
    return guarded(lambda: int(action(KilnClient(config.resolve(args)), args, sys.stdout)))


def templates_in(path: str, params: dict[str, str], name: str | None) -> list[tuple[str, FoundTemplate]]:
    """The ``(name, template)`` pairs a file holds; raises ValueError when one cannot be named."""
    try:
        found = [f for f in read_template_file(path, params=params) if f.kind == "template"]
    except TemplateFileError as exc:
        raise ValueError(f"{path}: {exc.message} [{exc.code}]") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not found:
        raise ValueError(f"{path}: no image template found")
    if name and len(found) > 1:
        raise ValueError(f"{path} holds {len(found)} templates; --name needs a file with one")
    if len(found) == 1:
        return [(name or found[0].name or Path(path).stem, found[0])]
    unnamed = [f.path for f in found if not f.name]
    if unnamed:
        raise ValueError(f"{path}: templates at {', '.join(unnamed)} have no resolvable name")
    return [(str(f.name), f) for f in found]


def create_templates(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    for name, found in templates_in(args.file, parse_params(args.param), args.name):
        for note in found.notes:
            print(f"note: {note}", file=out)
        resp = client.request(
            "PUT", client.template_path(name), json=found.body, params={"api-version": found.api_version}
        )
        body = resp.json() if resp.content else {}
        state = (body.get("properties") or {}).get("provisioningState", "?")
        verb = "created" if resp.status_code == 201 else "unchanged (the same template exists)"
        print(f"{verb} {name} ({state}): {body.get('id', '')}", file=out)
    return 0


def show_template(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    print_json(client.get_template(args.name), out)
    return 0


def list_templates(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    items = client.list_templates()
    if args.output == "json":
        print_json(items, out)
        return 0
    if not items:
        scope = client.conn.resource_group or f"subscription {client.conn.subscription}"
        print(f"no image templates in {scope}", file=out)
        return 0
    rows = [_row(t) for t in items]
    for line in table(rows, ["NAME", "RESOURCE GROUP", "LOCATION", "STATE", "LAST RUN"]):
        print(line, file=out)
    return 0


def _row(template: dict[str, Any]) -> list[Any]:
    props = template.get("properties") or {}
    last = props.get("lastRunStatus") or {}
    run = state_words(last) if last.get("runState") else ""
    group = str(template.get("id", "")).split("/resourceGroups/")[-1].split("/")[0]
    return [template.get("name"), group, template.get("location"), props.get("provisioningState"), run]


def delete_template(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    resp = client.delete_template(args.name)
    if resp.status_code == 204:
        print(f"{args.name} does not exist (nothing to delete)", file=out)
        return 0
    if args.no_wait:
        print(f"deleting {args.name}: {resp.headers.get('Azure-AsyncOperation', '')}", file=out)
        return 0
    status = client.wait_operation(resp)
    if status.get("status") == "Succeeded":
        print(f"deleted {args.name}", file=out)
        return 0
    error = status.get("error") or {}
    print(
        f"error: delete of {args.name} ended {status.get('status')}: "
        f"{error.get('code')}: {error.get('message')}",
        file=sys.stderr,
    )
    return 1
