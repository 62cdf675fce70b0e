"""The local demo's proof that a build on a real VM made a real image: the captured VHD, read back from the
staging storage account (Azurite), boots in a fresh QEMU VM, and what the customization left in it is
printed. Also the line that says, per template, whether its build VM is real or simulated.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cli.client import KilnClient
from cli.local_procs import REPO
from cli.local_stack import choose_compute

# What examples/debian-12-local-vm.json leaves in its image (read in the booted VHD).
PROOF_COMMAND = (
    "echo '--- /etc/kiln-build.txt'; cat /etc/kiln-build.txt; "
    "echo '--- /opt/kiln/packages.txt'; cat /opt/kiln/packages.txt; "
    "echo '--- sha256sum /opt/kiln/app.conf'; sha256sum /opt/kiln/app.conf"
)


def source_urn(path: Path) -> str:
    source = (json.loads(path.read_text()).get("properties") or {}).get("source") or {}
    if source.get("type") != "PlatformImage":
        return ""
    return ":".join(str(source.get(k, "")) for k in ("publisher", "offer", "sku"))


def demo_compute(requested: str, files: list[Path]) -> str:
    """``auto`` for the demo: qemu only when one of the templates it builds has a source with a local disk."""
    if requested != "auto":
        return requested
    compute, _, urns = choose_compute("auto")
    local = {u.lower() for u in urns}
    return "qemu" if compute == "qemu" and any(source_urn(f).lower() in local for f in files) else "sim"


def build_vm_kind(path: Path, compute: str, local_urns: list[str]) -> str:
    """How this template's build VM runs: a QEMU VM, or the rule-based simulation (and why)."""
    source = (json.loads(path.read_text()).get("properties") or {}).get("source") or {}
    urn = ":".join(str(source.get(k, "")) for k in ("publisher", "offer", "sku"))
    if compute != "qemu":
        return "build VM simulated (azuresim --compute sim)"
    if source.get("type") == "PlatformImage" and urn.lower() in {u.lower() for u in local_urns}:
        return f"build VM REAL: a QEMU VM booted from the local disk of {urn}"
    if "windows" in urn.lower():
        return "build VM simulated: Windows sources keep the rule-based simulation"
    what = urn if source.get("type") == "PlatformImage" else source.get("type")
    return f"build VM simulated: {what} has no local disk (python -m azuresim.qemu register adds one)"


def follow_logs(client: KilnClient, name: str, flags: list[str]) -> threading.Thread:
    """``kiln logs NAME --follow`` in the background, once the run exists (it ends with the run)."""
    from cli import main as kiln

    def follow() -> None:
        deadline = time.monotonic() + 60
        while not client.list_runs(name) and time.monotonic() < deadline:
            time.sleep(0.5)
        kiln.main(["logs", name, "--follow", *flags])

    thread = threading.Thread(target=follow, daemon=True, name=f"logs-{name}")
    thread.start()
    return thread


def download_vhd(url: str, out: Path, connection_string: str) -> None:
    """A page blob to a sparse file, by azuresim's image tool (the storage SDK is not the CLI's to import)."""
    command = [sys.executable, "-m", "azuresim.qemu", "download", url, str(out)]
    command += ["--storage", connection_string]
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)


def prove(client: KilnClient, name: str, connection_string: str, log: Any = print) -> bool:
    """Boot the VHD run output of template ``name`` and print what is in it; False when it fails."""
    vhds = [o for o in client.run_outputs(name) if (o.get("properties") or {}).get("artifactUri")]
    if not vhds:
        log(f"{name}: no VHD run output to boot")
        return False
    url = vhds[0]["properties"]["artifactUri"]
    work = Path(tempfile.mkdtemp(prefix="kiln-proof-"))
    try:
        vhd = work / "captured.vhd"
        download_vhd(url, vhd, connection_string)
        log(f"booting the captured VHD {url} ({vhd.stat().st_size / 2**30:.1f} GiB, fixed) in a fresh VM:")
        done = subprocess.run(
            [sys.executable, "-m", "azuresim.qemu", "boot", str(vhd), "--command", PROOF_COMMAND],
            cwd=REPO, capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        for line in (done.stdout + done.stderr).splitlines():
            log(f"  {line}")
        return done.returncode == 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
