"""A real build on a QEMU VM beside Packer's qemu builder doing the same work (issue 11): prints figures.

    python -m bench.vm_build [--skip-packer] [--skip-concurrent] [--state-dir DIR]

kiln runs on the local stack with ``--compute qemu`` (``cli.local_stack``), the template: the Debian 12 base
(``Debian:debian-12:12``), 3 inline Shell customizers, a File customizer with its sha256, an inVMValidation
and a VHD target. Packer 1.6.6 (Debian's ``packer``) runs its qemu builder on the same base image (a qcow2
copy), with the same three scripts, the same file and the same validation over SSH, shuts the VM down, and
the benchmark converts its disk to a fixed VHD (kiln's output) inside the timed span. Figures:

1. kiln's wall time (POST …/run to a terminal run) and each phase's length (from the run resource);
2. Packer's wall time; kiln / Packer (target ≤ 1.0: AIB's whole flow no slower than Packer's bare one);
3. two kiln builds started at once, their span over one build's (2 cores: target ≤ 1.2);
4. peak RSS of the QEMU processes and of each process of the stack.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from azuresim.qemu import images  # noqa: E402
from cli.client import KilnClient  # noqa: E402
from cli.local_artifacts import ArtifactServer  # noqa: E402
from cli.local_stack import LocalStack  # noqa: E402

SCRIPTS = [
    ["mkdir -p /opt/bench", "echo one > /opt/bench/one.txt"],
    ["for i in 1 2 3 4 5; do echo line $i; done | tee /opt/bench/two.txt"],
    ["dpkg-query -W qemu-guest-agent waagent | tee /opt/bench/versions.txt"],
]
VALIDATION = ["test -s /opt/bench/one.txt", "sha256sum /tmp/bench.conf"]
FILE_BYTES = b"[bench]\nvalue = 42\n" * 64
DONE = {"Succeeded", "Failed", "Canceled", "PartiallySucceeded"}


def template(file_url: str, sha: str) -> dict[str, Any]:
    identity = (
        "/subscriptions/3f2504e0-4f89-41d3-9a0c-0305e82c3301/resourceGroups/rg-image-builder/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/id-image-builder"
    )
    steps: list[dict[str, Any]] = [
        {"type": "Shell", "name": f"bench-{i}", "inline": lines} for i, lines in enumerate(SCRIPTS)
    ]
    steps.append(
        {"type": "File", "name": "bench-file", "sourceUri": file_url, "destination": "/tmp/bench.conf",
         "sha256Checksum": sha}
    )  # fmt: skip
    return {
        "location": "eastus",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity: {}}},
        "properties": {
            "buildTimeoutInMinutes": 120,
            "source": {"type": "PlatformImage", "publisher": "Debian", "offer": "debian-12", "sku": "12",
                       "version": "latest"},
            "customize": steps,
            "validate": {"inVMValidations": [{"type": "Shell", "name": "bench-check", "inline": VALIDATION}]},
            "distribute": [{"type": "VHD", "runOutputName": "bench-vhd"}],
        },
    }  # fmt: skip


class RssSampler:
    """The peak RSS of every QEMU process naming ``marker``, sampled twice a second."""

    def __init__(self, marker: str) -> None:
        self.marker, self.peak, self._stop = marker, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for p in psutil.process_iter(["cmdline", "memory_info"]):
                cmd = " ".join(p.info["cmdline"] or [])
                if "qemu-system" in cmd and self.marker in cmd and p.info["memory_info"]:
                    self.peak = max(self.peak, p.info["memory_info"].rss)
            time.sleep(0.5)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def kiln_builds(client: KilnClient, names: list[str]) -> tuple[float, list[dict[str, Any]]]:
    """Start the templates' runs at once; (span from the first start to the last end, the runs)."""
    started = time.monotonic()
    for name in names:
        client.start_run(name)
    runs: dict[str, dict[str, Any]] = {}
    while len(runs) < len(names):
        for name in names:
            if name not in runs:
                found = client.list_runs(name)
                props = (found[-1].get("properties") or {}) if found else {}
                if props.get("runState") in DONE:
                    runs[name] = found[-1]
        time.sleep(0.2)
    return time.monotonic() - started, [runs[n] for n in names]


def print_phases(run: dict[str, Any]) -> None:
    props = run.get("properties") or {}
    print(f"  run {run.get('name')}: {props.get('runState')} {props.get('message') or ''}".rstrip())
    for phase in props.get("phases") or []:
        if phase.get("startTime") and phase.get("endTime"):
            took = _ts(phase["endTime"]) - _ts(phase["startTime"])
            print(f"    {phase.get('phase'):12} {took:7.1f} s  {phase.get('state')}")


def packer_build(work: Path, base: images.LocalImage, file_path: Path) -> float:
    """Packer's qemu builder: boot, the same scripts, file and validation over SSH, shut down, VHD out."""
    disk = work / "base.qcow2"
    convert = ["qemu-img", "convert", "-O", "qcow2", "-f", base.format, base.path, str(disk)]
    subprocess.run(convert, check=True)
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    provisioners: list[dict[str, Any]] = [{"type": "shell", "inline": lines} for lines in SCRIPTS]
    provisioners += [
        {"type": "file", "source": str(file_path), "destination": "/tmp/bench.conf"},
        {"type": "shell", "inline": VALIDATION},
    ]
    spec = {
        "builders": [
            {
                "type": "qemu", "disk_image": True, "iso_url": str(disk), "iso_checksum": "none",
                "format": "qcow2", "accelerator": "tcg", "use_backing_file": False, "skip_compaction": True,
                "skip_resize_disk": True, "disk_interface": "virtio", "net_device": "virtio-net",
                "headless": True, "memory": 512, "cpus": 2, "output_directory": str(work / "out"),
                "vm_name": "packer.qcow2", "communicator": "ssh", "ssh_username": "root",
                "ssh_private_key_file": str(key), "ssh_timeout": "20m",
                "shutdown_command": "systemctl poweroff",
                "qemuargs": [["-fw_cfg", f"name=opt/kiln/ssh_key,file={key}.pub"], ["-cpu", "max"]],
            }
        ],
        "provisioners": provisioners,
    }  # fmt: skip
    (work / "packer.json").write_text(json.dumps(spec, indent=2))
    started = time.monotonic()
    done = subprocess.run(
        ["packer", "build", "-color=false", str(work / "packer.json")], cwd=work, capture_output=True,
        text=True, check=False, env={**os.environ, "PACKER_CACHE_DIR": str(work / "cache")},
    )  # fmt: skip
    if done.returncode != 0:
        print("\n".join(done.stdout.splitlines()[-25:]))
        raise RuntimeError("packer build failed")
    subprocess.run(
        ["qemu-img", "convert", "-f", "qcow2", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
         str(work / "out" / "packer.qcow2"), str(work / "packer.vhd")],
        check=True,
    )  # fmt: skip
    return time.monotonic() - started


def host_peaks(stack: LocalStack) -> dict[str, int]:
    peaks = {}
    for proc in stack.procs:
        for line in Path(f"/proc/{proc.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[proc.name] = int(line.split()[1]) * 1024
    return peaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vm_build")
    parser.add_argument("--skip-packer", action="store_true")
    parser.add_argument("--skip-concurrent", action="store_true")
    parser.add_argument("--state-dir", type=Path, default=None, help="keep the stack's state (and logs) here")
    args = parser.parse_args(argv)
    base = images.ensure_base()
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="kiln-bench-vm-"))
    server = ArtifactServer(state)
    file_url, sha = server.add("bench.conf", FILE_BYTES)
    stack = LocalStack(state, compute="qemu", devhost_env={"SSL_CERT_FILE": str(server.bundle)})
    sampler = RssSampler(str(state))
    try:
        stack.start(log=lambda *_: None)
        stack.seed()
        client = KilnClient(stack.connection(), timeout=120)
        body = template(file_url, sha)
        names = ["bench-one", "bench-a", "bench-b"]
        for name in names:
            resp = client.request("PUT", client.template_path(name), json=body)
            client.wait_operation(resp, interval=0.5)
        print(f"kiln on a real VM ({stack.compute_why})")
        one, runs = kiln_builds(client, ["bench-one"])
        print(f"1. kiln build, wall time {one:.1f} s")
        print_phases(runs[0])
        if not args.skip_packer:
            with tempfile.TemporaryDirectory(prefix="kiln-bench-packer-") as work:
                file_path = Path(work) / "bench.conf"
                file_path.write_bytes(FILE_BYTES)
                packer = packer_build(Path(work), base, file_path)
            print(f"2. Packer's qemu builder (boot, 3 scripts, file, check, shutdown, VHD): {packer:.1f} s")
            print(f"   kiln / Packer = {one / packer:.2f}  (target <= 1.0)")
        if not args.skip_concurrent:
            two, runs = kiln_builds(client, ["bench-a", "bench-b"])
            states = ", ".join(str((r.get("properties") or {}).get("runState")) for r in runs)
            print(f"3. two builds at once: {two:.1f} s ({states}); two/one = {two / one:.2f} (target <= 1.2)")
        print(f"4. peak RSS: QEMU {sampler.stop() / 2**20:.0f} MiB (largest VM)", end="")
        for name, peak in host_peaks(stack).items():
            print(f", {name} {peak / 2**20:.0f} MiB", end="")
        print()
    finally:
        sampler.stop()
        stack.stop()
        server.stop()
        if args.state_dir is None:
            shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
