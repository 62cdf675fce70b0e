"""Local disk images for azuresim's QEMU compute: the image cache, the URN catalog, and the Debian 12 base.

The cache lives outside the repository (``$KILN_IMAGE_CACHE``, else ``$XDG_CACHE_HOME/kiln/images``, else
``~/.cache/kiln/images``). The Debian 12 base is content-addressed: its folder is named by the hash of its
recipe (packages, first-boot hook, disk layout), so changing the recipe builds a new image and an unchanged
recipe is built once per machine. ``catalog.json`` maps a Marketplace URN (``publisher:offer:sku``) to a
disk file: the base registers ``Debian:debian-12:12`` when it is built, and ``register`` adds a user's own
image file (qcow2, raw or VHD) for any URN.

The base comes in two variants on the same root file system: Gen1 (a dos partition table, GRUB for BIOS),
registered for ``Debian:debian-12:12``, and Gen2 (a GPT disk with an EFI system partition holding GRUB for
UEFI as ``EFI/BOOT/BOOTX64.EFI``, booted by OVMF), registered for ``Debian:debian-12:12-gen2`` with
hyperVGeneration V2. The Gen2 disk is made from the Gen1 disk (its ext4 partition copied, a few seconds), so
the packages are fetched once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEBIAN_URN = "Debian:debian-12:12"
DEBIAN_GEN2_URN = "Debian:debian-12:12-gen2"
DEBIAN_VERSION = "0.20261201.1"
BASE_SIZE_MIB = 3072
PACKAGES = (
    "linux-image-cloud-amd64",
    "systemd-sysv",
    "udev",
    "kmod",
    "initramfs-tools",
    "dbus",
    "qemu-guest-agent",
    "waagent",
    "openssh-server",
    "iproute2",
    "e2fsprogs",
    "ca-certificates",
    "curl",  # as in Azure's Debian and Ubuntu images: a build step downloads its staged artifacts with it
    "sudo",
)
# The first boot, as cloud-init or waagent's provisioning would do it in Azure: new SSH host keys (a
# deprovisioned image has none), and the hostname and an authorized root key when QEMU's fw_cfg gives them.
FIRSTBOOT = """#!/bin/sh
# kiln base image: first boot
cfg=/sys/firmware/qemu_fw_cfg/by_name/opt/kiln
modprobe qemu_fw_cfg 2>/dev/null || true
[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A
if [ -r $cfg/hostname/raw ]; then
  hostname "$(cat $cfg/hostname/raw)" && cat $cfg/hostname/raw > /etc/hostname
fi
if [ -r $cfg/ssh_key/raw ]; then
  mkdir -p /root/.ssh && chmod 700 /root/.ssh
  cat $cfg/ssh_key/raw > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys
fi
"""
FIRSTBOOT_UNIT = """[Unit]
Description=kiln base image first boot (host keys, hostname, SSH key from fw_cfg)
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/kiln-firstboot
[Install]
WantedBy=multi-user.target
"""
HOOK = f"""#!/bin/sh
set -e
root="$1"
echo debian > "$root/etc/hostname"
echo 'LABEL=root / ext4 defaults,errors=remount-ro 0 1' > "$root/etc/fstab"
mkdir -p "$root/etc/systemd/network"
printf '[Match]\\nName=en* eth*\\n[Network]\\nDHCP=yes\\n' > "$root/etc/systemd/network/80-dhcp.network"
cat > "$root/usr/local/sbin/kiln-firstboot" <<'EOF'
{FIRSTBOOT}EOF
chmod 755 "$root/usr/local/sbin/kiln-firstboot"
cat > "$root/etc/systemd/system/kiln-firstboot.service" <<'EOF'
{FIRSTBOOT_UNIT}EOF
chroot "$root" systemctl enable systemd-networkd serial-getty@ttyS0.service kiln-firstboot.service
# Outside Azure the Linux agent only retries Azure's endpoint; `waagent -deprovision` still runs as a command.
chroot "$root" systemctl disable walinuxagent.service || true
rm -f "$root"/etc/ssh/ssh_host_*
"""
GRUB_MODULES = "biosdisk part_msdos ext2 normal linux search search_label configfile serial terminal echo"
GRUB_CFG = """serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
search --no-floppy --label root --set=root
linux /boot/{kernel} root=LABEL=root ro console=ttyS0,115200 net.ifnames=0
initrd /boot/{initrd}
boot
"""
# Documentation, manual pages and translations are left out (a smaller disk boots and exports faster).
DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
)
RECIPE_VERSION = 1
ESP_MIB = 32
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"  # Debian's ``ovmf``: a Gen2 VM's UEFI firmware, read-only
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"  # its variable store, copied per VM
# GRUB for UEFI, every module it needs built in (the root file system has none for x86_64-efi); its embedded
# configuration finds the root partition by label and reads the same grub.cfg as the Gen1 disk.
EFI_MODULES = (
    "part_gpt part_msdos fat ext2 normal linux search search_label configfile serial terminal echo efi_gop"
)
EFI_EARLY_CFG = """search --no-floppy --label root --set=root
set prefix=($root)/boot/grub
configfile ($root)/boot/grub/grub.cfg
"""


class ImageError(RuntimeError):
    """An image could not be built, registered or found."""


@dataclass(frozen=True)
class LocalImage:
    """A disk file that backs a URN: what a VM booted from that URN starts on."""

    urn: str
    path: str
    format: str  # qemu-img's name: raw | qcow2 | vpc
    generation: str = "V1"
    os_type: str = "Linux"
    version: str = "1.0.0"

    def key(self) -> str:
        return urn_key(self.urn)


def cache_dir() -> Path:
    if os.environ.get("KILN_IMAGE_CACHE"):
        return Path(os.environ["KILN_IMAGE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kiln" / "images"


def urn_key(urn: str) -> str:
    """``publisher:offer:sku`` lower-cased (a version, when given, is dropped)."""
    parts = urn.split(":")
    if len(parts) not in (3, 4) or not all(parts[:3]):
        raise ImageError(f"'{urn}' is not a URN: expected publisher:offer:sku[:version]")
    return ":".join(parts[:3]).lower()


def _catalog_file(cache: Path) -> Path:
    return cache / "catalog.json"


def catalog(cache: Path | None = None) -> dict[str, LocalImage]:
    """Every registered URN whose disk file still exists."""
    path = _catalog_file(cache or cache_dir())
    try:
        raw: dict[str, dict[str, Any]] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: LocalImage(**v) for k, v in raw.items() if Path(v.get("path", "")).is_file()}


def _save_catalog(cache: Path, images: dict[str, LocalImage]) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    tmp = _catalog_file(cache).with_suffix(".tmp")
    tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(images.items())}, indent=2))
    os.replace(tmp, _catalog_file(cache))


def detect_format(path: Path) -> str:
    """qcow2, vpc (a VHD: its footer says ``conectix``) or raw."""
    with path.open("rb") as f:
        head = f.read(8)
        f.seek(-512, os.SEEK_END)
        footer = f.read(8)
    if head.startswith(b"QFI\xfb"):
        return "qcow2"
    if footer == b"conectix" or head == b"conectix":
        return "vpc"
    return "raw"


def register(
    urn: str,
    file: Path,
    *,
    generation: str = "V1",
    os_type: str = "Linux",
    version: str = "1.0.0",
    cache: Path | None = None,
) -> LocalImage:
    """Make ``file`` the disk of ``urn`` (the file is used in place, never written: VMs boot on overlays)."""
    cache = cache or cache_dir()
    path = file.resolve()
    if not path.is_file():
        raise ImageError(f"{file} is not a file")
    if generation not in ("V1", "V2"):
        raise ImageError("generation must be V1 or V2")
    image = LocalImage(
        urn=":".join(urn.split(":")[:3]),
        path=str(path),
        format=detect_format(path),
        generation=generation,
        os_type=os_type,
        version=version,
    )
    images = catalog(cache)
    images[image.key()] = image
    _save_catalog(cache, images)
    return image


def find(urn: str, cache: Path | None = None) -> LocalImage | None:
    return catalog(cache).get(urn_key(urn))


def recipe_hash() -> str:
    recipe = {
        "version": RECIPE_VERSION,
        "suite": "bookworm",
        "packages": PACKAGES,
        "dpkg": DPKG_OPTIONS,
        "hook": HOOK,
        "grub": [GRUB_MODULES, GRUB_CFG],
        "size": BASE_SIZE_MIB,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def base_path(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / f"debian-12-{recipe_hash()}" / "disk.raw"


def gen2_path(cache: Path | None = None) -> Path:
    recipe = json.dumps([recipe_hash(), ESP_MIB, EFI_MODULES, EFI_EARLY_CFG]).encode()
    return (cache or cache_dir()) / f"debian-12-gen2-{hashlib.sha256(recipe).hexdigest()[:16]}" / "disk.raw"


def missing_tools() -> list[str]:
    """The host commands a base image build needs that are not installed."""
    tools = ("mmdebstrap", "sfdisk", "mkfs.ext4", "grub-mkimage", "qemu-img")
    return [t for t in tools if shutil.which(t) is None and not Path("/usr/sbin", t).exists()]


def _run(args: list[str], log: Callable[[str], None]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
        raise ImageError(f"{args[0]} failed ({done.returncode}):\n{tail}")


def _mirror() -> str:
    """The Debian mirror this host's apt uses (so the build needs no other network access)."""
    for source in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for line in source.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split(":", 1)[1].split()[0]
    return "http://deb.debian.org/debian"


def ensure_base(cache: Path | None = None, *, log: Callable[[str], None] = print) -> LocalImage:
    """The Debian 12 base image, built once per recipe; registered for ``Debian:debian-12:12``."""
    cache = cache or cache_dir()
    disk = base_path(cache)
    if not disk.is_file():
        missing = missing_tools()
        if missing:
            raise ImageError(f"cannot build the Debian 12 base image: {', '.join(missing)} not installed")
        disk.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        log(f"building the Debian 12 base image (recipe {recipe_hash()}) in {disk.parent}")
        with tempfile.TemporaryDirectory(prefix=".build-", dir=disk.parent) as work:
            _build(Path(work), disk, log)
        log(f"built {disk} in {time.monotonic() - started:.0f} s")
    gen2 = gen2_path(cache)
    variants = [(DEBIAN_URN, disk, "V1")]
    lacking = gen2_missing()
    if lacking:
        log(f"no Gen2/UEFI variant: {lacking} (scripts/setup.sh installs it); Gen2 URNs stay simulated")
    else:
        if not gen2.is_file():
            gen2.parent.mkdir(parents=True, exist_ok=True)
            log(f"making the Gen2/UEFI variant in {gen2.parent}")
            with tempfile.TemporaryDirectory(prefix=".build-", dir=gen2.parent) as work:
                _build_gen2(Path(work), disk, gen2, log)
        variants.append((DEBIAN_GEN2_URN, gen2, "V2"))
    registered = []
    for urn, path, generation in variants:
        found = find(urn, cache)
        if found is None or found.path != str(path):
            found = register(urn, path, generation=generation, version=DEBIAN_VERSION, cache=cache)
        registered.append(found)
    return registered[0]


def gen2_missing() -> str:
    """What this host lacks to make and boot the Gen2 variant ("" when nothing)."""
    wanted = [
        ("grub-efi-amd64-bin", Path("/usr/lib/grub/x86_64-efi").is_dir()),
        ("ovmf", Path(OVMF_CODE).is_file() and Path(OVMF_VARS).is_file()),
        ("dosfstools", any(Path(d, "mkfs.vfat").exists() for d in ("/usr/sbin", "/sbin"))),
        ("mtools", shutil.which("mcopy") is not None and shutil.which("mmd") is not None),
    ]
    return ", ".join(f"{name} is not installed" for name, present in wanted if not present)


def _build_gen2(work: Path, gen1: Path, disk: Path, log: Callable[[str], None]) -> None:
    """A GPT disk: an EFI system partition with GRUB for UEFI, then the Gen1 disk's root partition."""
    root_mib = BASE_SIZE_MIB - 1
    early, efi, esp = work / "early.cfg", work / "BOOTX64.EFI", work / "esp.img"
    early.write_text(EFI_EARLY_CFG)
    _run(
        ["grub-mkimage", "-O", "x86_64-efi", "-o", str(efi), "-c", str(early), "-p", "/boot/grub",
         *EFI_MODULES.split()],
        log,
    )  # fmt: skip
    _run(["mkfs.vfat", "-n", "ESP", "-C", str(esp), str(ESP_MIB * 1024)], log)
    _run(["mmd", "-i", str(esp), "::/EFI", "::/EFI/BOOT"], log)
    _run(["mcopy", "-i", str(esp), str(efi), "::/EFI/BOOT/BOOTX64.EFI"], log)
    raw = work / "disk.raw"
    with raw.open("wb") as f:
        f.truncate((1 + ESP_MIB + root_mib + 1) * 1024 * 1024)  # the last MiB holds GPT's backup header
    table = (
        f"label: gpt\nstart=2048, size={ESP_MIB * 2048}, type=U, name=esp\n"
        f"start={(1 + ESP_MIB) * 2048}, size={root_mib * 2048}, type=L, name=root\n"
    )
    subprocess.run(["sfdisk", "--quiet", str(raw)], input=table, text=True, check=True, capture_output=True)
    chunk = 1024 * 1024
    with raw.open("r+b") as out:
        out.seek(chunk)
        out.write(esp.read_bytes())
        with gen1.open("rb") as src:  # the ext4 partition, its holes kept (only written blocks are copied)
            src.seek(chunk)
            for i in range(root_mib):
                block = src.read(chunk)
                if block.count(0) != len(block):
                    out.seek((1 + ESP_MIB + i) * chunk)
                    out.write(block)
    os.replace(raw, disk)


def _build(work: Path, disk: Path, log: Callable[[str], None]) -> None:
    rootfs, hook = work / "rootfs", work / "hook.sh"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    log("  mmdebstrap bookworm (Debian's packages: kernel, systemd, qemu-guest-agent, waagent, ssh)")
    _run(
        [
            "mmdebstrap", "--variant=minbase", "--quiet", f"--include={','.join(PACKAGES)}",
            *(f"--dpkgopt={o}" for o in DPKG_OPTIONS),
            f"--customize-hook={hook} \"$1\"", "bookworm", str(rootfs), _mirror(),
        ],
        log,
    )  # fmt: skip
    boot = rootfs / "boot"
    kernel = sorted(p.name for p in boot.glob("vmlinuz-*"))[-1]
    initrd = sorted(p.name for p in boot.glob("initrd.img-*"))[-1]
    grub_dir = boot / "grub"
    shutil.copytree("/usr/lib/grub/i386-pc", grub_dir / "i386-pc", dirs_exist_ok=True)
    (grub_dir / "grub.cfg").write_text(GRUB_CFG.format(kernel=kernel, initrd=initrd))
    log("  disk: dos partition table, ext4 written from the tree, GRUB for BIOS")
    raw = work / "disk.raw"
    with raw.open("wb") as f:
        f.truncate(BASE_SIZE_MIB * 1024 * 1024)
    subprocess.run(
        ["sfdisk", "--quiet", str(raw)], input="label: dos\nstart=2048, type=83, bootable\n", text=True,
        check=True, capture_output=True,
    )  # fmt: skip
    part_kib = (BASE_SIZE_MIB - 1) * 1024
    _run(
        ["mkfs.ext4", "-q", "-F", "-L", "root", "-E", "offset=1048576", "-d", str(rootfs), str(raw),
         f"{part_kib}k"],
        log,
    )  # fmt: skip
    core = work / "core.img"
    _run(
        ["grub-mkimage", "-O", "i386-pc", "-o", str(core), "-p", "(hd0,msdos1)/boot/grub",
         *GRUB_MODULES.split()],
        log,
    )  # fmt: skip
    boot_img = Path("/usr/lib/grub/i386-pc/boot.img").read_bytes()[:440]
    with raw.open("r+b") as f:
        f.write(boot_img)
        f.seek(512)
        f.write(core.read_bytes())
    shutil.rmtree(rootfs, ignore_errors=True)
    os.replace(raw, disk)
