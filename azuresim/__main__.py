"""``python -m azuresim --port 8443 --state-file .state/azuresim.json --ca-out .state/azuresim-ca.pem``.

Prints one ready line, ``AZURESIM READY {"base_url": ..., "ca_file": ..., "port": ...}``, once it accepts
connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

from aiohttp import web

from azuresim.server import Sim, build_app
from azuresim.tls import make_server_context


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m azuresim", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8443, help="0 picks a free port (see the ready line)")
    p.add_argument("--state-file", type=Path, default=None, help="JSON state kept across restarts")
    p.add_argument("--ca-out", type=Path, default=None, help="where to write the CA certificate (PEM)")
    p.add_argument(
        "--storage-connection-string",
        default=os.environ.get("AZURESIM_STORAGE_CONNECTION_STRING"),
        help="Azurite's connection string (default: $AZURESIM_STORAGE_CONNECTION_STRING)",
    )
    p.add_argument("--latency-scale", type=float, default=0.0, help="0 turns the latency model off")
    p.add_argument("--seed", type=int, default=None, help="seed for probabilistic fault rules")
    p.add_argument(
        "--compute",
        choices=("sim", "qemu"),
        default="sim",
        help="qemu: VMs whose image has a local disk boot under QEMU; sim: every VM is a record",
    )
    p.add_argument("--vm-dir", type=Path, default=None, help="qemu: disks, images and VM folders")
    p.add_argument("--image-cache", type=Path, default=None, help="qemu: the local image cache and catalog")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    ca_out = args.ca_out or Path(tempfile.mkdtemp(prefix="azuresim-")) / "ca.pem"
    ssl_ctx = make_server_context(ca_out)
    sim = Sim(
        state_file=args.state_file,
        storage_connection_string=args.storage_connection_string,
        latency_scale=args.latency_scale,
        seed=args.seed,
    )
    if args.compute == "qemu":
        from azuresim.qemu.backend import QemuCompute

        vm_dir = args.vm_dir or Path(tempfile.mkdtemp(prefix="azuresim-vms-"))
        sim.use_compute(QemuCompute(vm_dir, args.image_cache))
    runner = web.AppRunner(build_app(sim), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, ssl_context=ssl_ctx)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    ready = {
        "base_url": f"https://{args.host}:{port}",
        "ca_file": str(ca_out),
        "port": port,
        "compute": args.compute,
    }
    print("AZURESIM READY " + json.dumps(ready), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
