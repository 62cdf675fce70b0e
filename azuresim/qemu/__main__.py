"""Local images for azuresim's QEMU compute.

python -m azuresim.qemu build-base             # the Debian 12 base (once per recipe), for Debian:debian-12:12
python -m azuresim.qemu register URN FILE      # your own qcow2 / raw / VHD file for a URN
python -m azuresim.qemu list                   # the catalog
python -m azuresim.qemu boot FILE --command C  # boot a disk (a captured VHD), run C in it, power off
python -m azuresim.qemu download URL FILE --storage CONN  # a page blob (a VHD in Azurite) to a sparse file
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from azuresim.qemu import images, machine


def _boot(disk: Path, command: str, timeout: float, firmware: str) -> int:
    """Boot ``disk`` (never written: the VM runs on an overlay), run ``command``, print its output."""
    work = Path(tempfile.mkdtemp(prefix="azuresim-boot-"))
    try:
        overlay = work / "overlay.qcow2"
        fmt = images.detect_format(disk)
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(disk.resolve()), "-F", fmt, str(overlay)],
            check=True,
        )
        return asyncio.run(_boot_and_run(work, overlay, command, timeout, firmware))
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _boot_and_run(work: Path, overlay: Path, command: str, timeout: float, firmware: str) -> int:
    m = machine.Machine(work / "vm", overlay, cpus=2, firmware=firmware)
    started = time.monotonic()
    await m.boot()
    try:
        if not await m.wait_ready(timeout):
            print("the VM did not answer through its guest agent in time", file=sys.stderr)
            return 1
        print(f"booted in {time.monotonic() - started:.1f} s ({machine.accelerator()}); running: {command}")
        code, output = await m.agent.run("/bin/sh", ["-c", command], timeout=120)
        print(output, end="" if output.endswith("\n") else "\n")
        await m.shutdown()
        return code
    finally:
        await m.kill()


def _download(url: str, out: Path, connection_string: str) -> None:
    """A page blob to a sparse file: only its written ranges are read."""
    from azure.storage.blob import BlobClient

    container, name = url.split("/", 4)[4].split("/", 1)
    blob = BlobClient.from_connection_string(connection_string, container, name)
    size = blob.get_blob_properties().size
    with out.open("wb") as f:
        f.truncate(size)
        for page in blob.get_page_ranges()[0]:
            f.seek(page["start"])
            length = page["end"] - page["start"] + 1
            f.write(blob.download_blob(offset=page["start"], length=length).readall())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m azuresim.qemu", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build-base", help="build (once) and register the Debian 12 base image")
    reg = sub.add_parser("register", help="register a disk file for a URN")
    reg.add_argument("urn", help="publisher:offer:sku")
    reg.add_argument("file", type=Path)
    reg.add_argument("--generation", default="V1", choices=("V1", "V2"))
    reg.add_argument("--version", default="1.0.0")
    sub.add_parser("list", help="the registered images")
    boot = sub.add_parser("boot", help="boot a disk file and run a command in it")
    boot.add_argument("file", type=Path)
    boot.add_argument("--command", default="cat /etc/os-release")
    boot.add_argument("--timeout", type=float, default=300.0)
    boot.add_argument("--uefi", action="store_true", help="boot with OVMF (a Gen2 disk) instead of BIOS")
    down = sub.add_parser("download", help="download a page blob (a captured VHD in Azurite) to a file")
    down.add_argument("url")
    down.add_argument("file", type=Path)
    down.add_argument("--storage", required=True, help="the storage account's connection string")
    args = parser.parse_args(argv)
    try:
        if args.command == "build-base":
            image = images.ensure_base()
            print(f"{image.urn} -> {image.path}")
        elif args.command == "register":
            image = images.register(args.urn, args.file, generation=args.generation, version=args.version)
            print(f"{image.urn} -> {image.path} ({image.format}, {image.generation})")
        elif args.command == "download":
            _download(args.url, args.file, args.storage)
        elif args.command == "list":
            for image in images.catalog().values():
                print(f"{image.urn}\t{image.generation}\t{image.format}\t{image.path}")
        else:
            return _boot(args.file, args.command, args.timeout, "uefi" if args.uefi else "bios")
    except images.ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
