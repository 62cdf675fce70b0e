"""One QEMU process per running VM, its files in a folder of its own (pid file, guest agent socket, console).

QEMU runs with ``PR_SET_PDEATHSIG`` (it dies when azuresim dies, even by SIGKILL) and a pid file, which
``sweep`` reads at the next start to kill whatever a crash left. KVM is used when a quick probe shows it
works; otherwise TCG (software emulation), said once on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from azuresim.qemu import images
from azuresim.qemu.agent import GuestAgent

QEMU = "qemu-system-x86_64"
PID_FILE = "qemu.pid"
SOCK_PREFIX = "azq-"
_PR_SET_PDEATHSIG = 1
READY_SYNC_SECONDS = 0.5
_accel: list[str] = []


def installed() -> bool:
    return shutil.which(QEMU) is not None and shutil.which("qemu-img") is not None


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _probe_kvm() -> str | None:
    """None when KVM works here, else why not."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not usable"
    if Path("/sys/module/kvm_pvm").exists():
        return "KVM here is a nested PVM host, which stops stock guest kernels"
    try:
        done = subprocess.run(
            [QEMU, "-accel", "kvm", "-machine", "q35", "-nodefaults", "-display", "none", "-S", "-monitor",
             "stdio"],
            input="quit\n", capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the KVM probe failed: {exc}"
    return None if done.returncode == 0 else f"the KVM probe failed: {done.stderr.strip()[:200]}"


def accelerator() -> str:
    """``kvm`` or ``tcg`` (``$AZURESIM_QEMU_ACCEL`` forces one); probed once per process."""
    if not _accel:
        forced = os.environ.get("AZURESIM_QEMU_ACCEL", "")
        if forced in ("kvm", "tcg"):
            _accel.append(forced)
        else:
            why = _probe_kvm()
            _accel.append("kvm" if why is None else "tcg")
            if why is not None:
                print(f"azuresim: QEMU uses TCG (software emulation): {why}", file=sys.stderr, flush=True)
    return _accel[0]


def firmware_args(folder: Path, firmware: str) -> list[str]:
    """Nothing for BIOS (SeaBIOS, QEMU's default); for UEFI, OVMF's code read-only and a copy of its variable
    store in the VM's folder (the VM's own NVRAM, kept across reboots)."""
    if firmware != "uefi":
        return []
    vars_file = folder / "OVMF_VARS.fd"
    if not vars_file.exists():
        shutil.copyfile(images.OVMF_VARS, vars_file)
    return [
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={images.OVMF_CODE}",
        "-drive", f"if=pflash,format=raw,unit=1,file={vars_file}",
    ]  # fmt: skip


def qemu_args(
    folder: Path,
    disk: Path,
    sock: Path,
    *,
    memory_mb: int,
    cpus: int,
    firmware: str = "bios",
    data: list[Path] | None = None,
) -> list[str]:
    accel = accelerator()
    cpu = ["-cpu", "host"] if accel == "kvm" else ["-cpu", "max"]
    return [
        QEMU, "-name", folder.name, "-machine", "q35",
        "-accel", "kvm" if accel == "kvm" else "tcg,tb-size=64", *cpu,
        "-m", str(memory_mb), "-smp", str(cpus), "-nographic", "-nodefaults",
        "-serial", f"file:{folder / 'console.log'}", "-pidfile", str(folder / PID_FILE),
        "-chardev", f"socket,path={sock},server=on,wait=off,id=qga0",
        "-device", "virtio-serial-pci", "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
        "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,romfile=",
        "-drive", f"file={disk},if=virtio,format=qcow2,cache=unsafe,discard=unmap",
        # Data disks follow, in LUN order: /dev/vdb, /dev/vdc, ... in the guest.
        *(a for d in data or [] for a in ("-drive", f"file={d},if=virtio,format=qcow2,cache=unsafe")),
        *firmware_args(folder, firmware),
    ]  # fmt: skip


class Machine:
    """A VM's QEMU process: boot, wait for the guest agent, shut down, kill."""

    def __init__(
        self,
        folder: Path,
        disk: Path,
        *,
        memory_mb: int = 512,
        cpus: int = 1,
        firmware: str = "bios",
        data: list[Path] | None = None,
    ) -> None:
        self.folder = folder
        self.disk = disk
        self.firmware = firmware
        self.data = data or []
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.process: asyncio.subprocess.Process | None = None
        # A unix socket path has at most 107 bytes: a deep folder gets its socket in a short temp dir.
        self.sock_dir = Path(tempfile.mkdtemp(prefix=SOCK_PREFIX)) if len(str(folder)) > 90 else None
        if self.sock_dir is not None:  # whose it is, for the sweep after a crash
            (self.sock_dir / "owner").write_text(str(folder))
        self.sock = (self.sock_dir or folder) / "qga.sock"
        self.agent = GuestAgent(str(self.sock))
        self.booted_at = 0.0
        self.ready_at: float | None = None

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def boot(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sock.unlink(missing_ok=True)
        self.ready_at = None
        self.booted_at = time.time()
        self.process = await asyncio.create_subprocess_exec(
            *qemu_args(
                self.folder,
                self.disk,
                self.sock,
                memory_mb=self.memory_mb,
                cpus=self.cpus,
                firmware=self.firmware,
                data=self.data,
            ),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=(self.folder / "qemu.log").open("ab"),
            preexec_fn=_die_with_parent,
        )

    async def wait_ready(self, timeout: float = 600.0) -> bool:
        """Until the guest agent answers (True), the process exits or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            # A running agent answers a sync in milliseconds: short tries see it start within half a second.
            if self.sock.exists() and await self.agent.sync(READY_SYNC_SECONDS):
                self.ready_at = time.time()
                return True
            await asyncio.sleep(0.1)
        return False

    async def shutdown(self, timeout: float = 60.0) -> None:
        """A clean power-off through the guest agent; SIGKILL when it does not end in time."""
        if not self.alive():
            return
        self.ready_at = None
        with contextlib.suppress(Exception):
            await self.agent.send("guest-shutdown", {"mode": "powerdown"})
        assert self.process is not None
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            await self.kill()
        await self.agent.close()
        self.forget_socket()

    async def reboot(self) -> None:
        self.ready_at = None
        with contextlib.suppress(Exception):
            await self.agent.send("guest-shutdown", {"mode": "reboot"})
        await asyncio.sleep(2.0)  # the agent stops answering before the guest goes down

    async def kill(self) -> None:
        self.ready_at = None
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        await self.agent.close()
        self.forget_socket()

    def kill_now(self) -> None:
        """SIGKILL without waiting (from synchronous code); the event loop reaps the process."""
        self.ready_at = None
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        self.forget_socket()

    def forget_socket(self) -> None:
        """Remove the short socket folder, once the process is gone (a Machine boots once)."""
        if self.sock_dir is not None:
            shutil.rmtree(self.sock_dir, ignore_errors=True)


def sweep(root: Path) -> list[int]:
    """Kill every QEMU process a pid file under ``root`` names (left by a crash), and remove the short
    socket folders of its machines; their pids."""
    for sock_dir in Path(tempfile.gettempdir()).glob(f"{SOCK_PREFIX}*"):
        try:
            owner = Path((sock_dir / "owner").read_text())
        except OSError:
            continue
        if owner.is_relative_to(root):
            shutil.rmtree(sock_dir, ignore_errors=True)
    killed = []
    for pid_file in root.glob(f"*/*/{PID_FILE}"):
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            continue
        if QEMU in cmdline and str(pid_file.parent) in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        pid_file.unlink(missing_ok=True)
    return killed
