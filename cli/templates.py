"""``kiln template create|show|list|update|export|delete``: image templates over kiln's REST API."""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from cli import config
from cli.client import ApiError, KilnClient
from cli.output import guarded, print_json, table
from cli.progress import state_words
from cli.template_files import FoundTemplate, TemplateFileError, read_template_file
from cli.validate import check_params_used, parse_params

# What AIB's PATCH (ImageTemplateUpdateParameters) may change.
PATCH_FIELDS = (("tags", "tags"), ("identity", "identity"), ("distribute", "properties.distribute"))
READ_ONLY = ("id", "name", "type", "systemData")
READ_ONLY_PROPERTIES = (
    "provisioningState",
    "provisioningError",
    "lastRunStatus",
    "exactStagingResourceGroup",
)


def register(subparsers: Any) -> None:
    """Add ``template`` and its subcommands to the ``kiln`` parser."""
    parser = subparsers.add_parser(
        "template", help="create, show, list, update, export and delete image templates"
    )
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

    update = commands.add_parser(
        "update",
        help="change tags, identity, distribute or vmProfile of a template (PATCH)",
        description="PATCH an image template: AIB changes only tags, identity, properties.distribute and "
        "properties.vmProfile (merged); anything else needs a delete and a new create.",
    )
    update.add_argument("name", metavar="NAME")
    update.add_argument(
        "--from", dest="from_file", metavar="FILE", help="take the patchable fields from this template file"
    )
    update.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="with --from")
    update.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="set a tag")
    update.add_argument("--remove-tag", action="append", default=[], metavar="KEY", help="remove a tag")
    update.add_argument("--identity", metavar="JSON|@FILE", help="the identity object")
    update.add_argument("--distribute", metavar="JSON|@FILE", help="the distribute array")
    update.add_argument("--vm-profile", metavar="JSON|@FILE", help="vmProfile fields (null removes one)")
    update.set_defaults(handler=lambda a: _run(a, update_template))

    export = commands.add_parser("export", help="print the stored template, ready to PUT elsewhere")
    export.add_argument("name", metavar="NAME")
    export.add_argument("--file", "-f", metavar="FILE", help="write it to FILE instead of stdout")
    export.set_defaults(handler=lambda a: _run(a, export_template))

    delete = commands.add_parser("delete", help="delete a template (and what its runs left)")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--no-wait", action="store_true", help="return once the delete is accepted")
    delete.set_defaults(handler=lambda a: _run(a, delete_template))

    for sub in (create, show, listing, update, export, delete):
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
    params = parse_params(args.param)
    check_params_used(params, [args.file])
    for name, found in templates_in(args.file, params, args.name):
        for note in found.notes:
            print(f"note: {note}", file=out)
        try:
            resp = client.request(
                "PUT", client.template_path(name), json=found.body, params={"api-version": found.api_version}
            )
        except ApiError as exc:
            if exc.status == 409 and "Update/Upgrade" in exc.message:
                exc.details.append(
                    {"target": "hint", "message": update_hint(name, args), "code": "UseUpdate"}
                )
            raise
        body = resp.json() if resp.content else {}
        state = (body.get("properties") or {}).get("provisioningState", "?")
        verb = "created" if resp.status_code == 201 else "unchanged (the same template exists)"
        print(f"{verb} {name} ({state}): {body.get('id', '')}", file=out)
    return 0


def update_hint(name: str, args: argparse.Namespace) -> str:
    """What to run when a changed template is refused with AIB's 409."""
    command = f"kiln template update {name} --from {shlex.quote(args.file)}"
    command += "".join(f" --param {shlex.quote(p)}" for p in args.param)
    return (
        f"`{command}` applies its tags, identity, distribute and vmProfile; any other change needs "
        f"`kiln template delete {name}` first"
    )


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


def json_argument(value: str, option: str) -> Any:
    """``--option JSON`` or ``--option @FILE``."""
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"{option}: cannot read {value[1:]}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{option}: not JSON ({exc})") from None


def patch_body(client: KilnClient, args: argparse.Namespace) -> dict[str, Any]:
    """The PATCH body the options ask for; a ValueError (usage) when they ask for nothing."""
    body: dict[str, Any] = {}
    props: dict[str, Any] = {}
    if args.from_file:
        params = parse_params(args.param)
        check_params_used(params, [args.from_file])
        (_, found), *_ = templates_in(args.from_file, params, args.name)
        for key in ("tags", "identity"):
            if key in found.body:
                body[key] = found.body[key]
        for key in ("distribute", "vmProfile"):
            if key in (found.body.get("properties") or {}):
                props[key] = found.body["properties"][key]
    if args.tag or args.remove_tag:
        tags = dict(body.get("tags") or client.get_template(args.name).get("tags") or {})
        tags.update(parse_params(args.tag, option="--tag"))
        for key in args.remove_tag:
            tags.pop(key, None)
        body["tags"] = tags
    if args.identity:
        body["identity"] = json_argument(args.identity, "--identity")
    if args.distribute:
        props["distribute"] = json_argument(args.distribute, "--distribute")
    if args.vm_profile:
        props["vmProfile"] = json_argument(args.vm_profile, "--vm-profile")
    if props:
        body["properties"] = props
    if not body:
        raise ValueError(
            "nothing to update: give --from FILE, --tag, --remove-tag, --identity, --distribute "
            "or --vm-profile"
        )
    return body


def update_template(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    body = patch_body(client, args)
    client.request("PATCH", client.template_path(args.name), json=body)
    changed = [label for key, label in PATCH_FIELDS if key in body or key in body.get("properties", {})]
    if "vmProfile" in body.get("properties", {}):
        changed.append("properties.vmProfile")
    print(f"updated {args.name}: {', '.join(changed)}", file=out)
    return 0


def exportable(template: dict[str, Any]) -> dict[str, Any]:
    """A template as GET shows it, without what only the service sets: a body to PUT."""
    body = {k: copy.deepcopy(v) for k, v in template.items() if k not in READ_ONLY}
    props = body.get("properties") or {}
    for key in READ_ONLY_PROPERTIES:
        props.pop(key, None)
    source = props.get("source")
    if isinstance(source, dict):
        source.pop("exactVersion", None)  # the version a run resolved, not part of the template
    identities = (body.get("identity") or {}).get("userAssignedIdentities")
    if isinstance(identities, dict):
        body["identity"]["userAssignedIdentities"] = {k: {} for k in identities}
    return body


def export_template(client: KilnClient, args: argparse.Namespace, out: TextIO) -> int:
    body = exportable(client.get_template(args.name))
    if not args.file:
        print_json(body, out)
        return 0
    Path(args.file).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.name} to {args.file} (kiln template create {args.file} --name NAME)", file=out)
    return 0


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
