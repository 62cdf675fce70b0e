"""``python -m devhost serve``: command-line options."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from devhost.server import Config, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devhost", description="Run a Python v2 Functions app locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="host the app in --app-dir until SIGTERM/SIGINT")
    s.add_argument("--app-dir", type=Path, default=Path("."), help="folder holding function_app.py")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7071, help="public port (0 = a free port)")
    s.add_argument("--state-dir", type=Path, default=Path(".state/devhost"))
    s.add_argument("--storage-connection-string", help="exported to the app as AzureWebJobsStorage")
    s.add_argument("--function-key", help="function key (default: generated once, kept in STATE/keys.json)")
    s.add_argument("--master-key", help="master key (default: generated once, kept in STATE/keys.json)")
    s.add_argument("--activity-workers", type=int, default=8, help="activity thread pool size")
    s.add_argument("--orchestration-workers", type=int, default=4, help="orchestration episodes at once")
    s.add_argument("--activity-timeout", type=float, default=600.0, help="seconds; 0 = no limit")
    s.add_argument("--https", action="store_true", help="serve HTTPS with a generated local CA")
    s.add_argument("--cert", type=Path, help="server certificate (PEM) instead of a generated one")
    s.add_argument("--key", type=Path, help="private key (PEM) for --cert")
    s.add_argument("--ca-out", type=Path, help="also write the generated CA certificate here")
    s.add_argument("--rpc-port", type=int, default=0, help="loopback durable RPC port (0 = a free port)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if bool(args.cert) != bool(args.key):
        build_parser().error("--cert and --key must be given together")
    if args.storage_connection_string:
        os.environ["AzureWebJobsStorage"] = args.storage_connection_string  # noqa: SIM112 (the host's name)
    config = Config(
        app_dir=args.app_dir,
        host=args.host,
        port=args.port,
        state_dir=args.state_dir,
        function_key=args.function_key,
        master_key=args.master_key,
        activity_workers=args.activity_workers,
        orchestration_workers=args.orchestration_workers,
        activity_timeout=args.activity_timeout or None,
        https=args.https or bool(args.cert),
        cert=args.cert,
        key=args.key,
        ca_out=args.ca_out,
        rpc_port=args.rpc_port,
    )
    asyncio.run(serve(config))
    return 0
