"""azuresim's QEMU compute through the official SDK: a Debian 12 VM really boots, run commands really run in
it (live output, exit codes, timeouts killing the script, no second run for a repeated PUT), and what is
captured from it (managed image, gallery version, VHD) boots with the customization in place.

One VM boot serves the run-command tests; the capture test boots two more (from the gallery version, and
the downloaded VHD). Under TCG a boot takes ~25 s on an idle machine.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.storage.blob import BlobClient, BlobServiceClient

from tests.support import leaks
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import ACCOUNT, KEY, Azurite
from tests.support.tempdirs import new_dir
from tests.support.vms import assert_nothing_left, qemu_sim

pytestmark = [pytest.mark.vm, pytest.mark.timeout(1500)]
SUB = "00000000-0000-0000-0000-00000000e0e0"
LOCATION = "eastus"
DEBIAN = {"publisher": "Debian", "offer": "debian-12", "sku": "12", "version": "latest"}
DEBIAN_GEN2 = {**DEBIAN, "sku": "12-gen2"}
PROOF = "/etc/kiln-proof"


class World:
    def __init__(self, sim: AzureSim, vm_dir: Path, container: Any) -> None:
        self.sim, self.vm_dir, self.container = sim, vm_dir, container
        self.compute: Any = sim.mgmt_client(ComputeManagementClient, SUB)
        self.resources: Any = sim.mgmt_client(ResourceManagementClient, SUB)
        self.rg = f"rg-{uuid.uuid4().hex[:8]}"
        self.resources.resource_groups.create_or_update(self.rg, {"location": LOCATION})

    def create_vm(
        self, name: str, image: dict[str, str], data_disks: list[dict[str, Any]] | None = None
    ) -> Any:
        storage: dict[str, Any] = {"imageReference": image, "osDisk": {"createOption": "FromImage"}}
        if data_disks is not None:
            storage["dataDisks"] = data_disks
        body = {
            "location": LOCATION,
            "properties": {
                "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
                "storageProfile": storage,
                "osProfile": {"computerName": name, "adminUsername": "kiln"},
            },
        }
        return self.compute.virtual_machines.begin_create_or_update(self.rg, name, body).result()

    def wait_agent(self, name: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            agent = self.compute.virtual_machines.instance_view(self.rg, name).vm_agent
            if agent is not None and agent.statuses[0].display_status == "Ready":
                return
            time.sleep(1)
        raise AssertionError(f"the guest agent of {name} never answered")

    def body(self, script: str, step: str, **extra: Any) -> dict[str, Any]:
        return {
            "location": LOCATION,
            "properties": {
                "source": {"script": script},
                "outputBlobUri": f"{self.container.url}/{step}.out.log",
                "errorBlobUri": f"{self.container.url}/{step}.err.log",
                **extra,
            },
        }

    def run(self, vm: str, script: str, step: str | None = None, **extra: Any) -> Any:
        step = step or f"s{uuid.uuid4().hex[:8]}"
        self.compute.virtual_machine_run_commands.begin_create_or_update(
            self.rg, vm, step, self.body(script, step, **extra)
        ).result()
        return self.view(vm, step)

    def view(self, vm: str, step: str) -> Any:
        return self.compute.virtual_machine_run_commands.get_by_virtual_machine(
            self.rg, vm, step, expand="instanceView"
        ).instance_view

    def blob(self, name: str) -> str:
        """The blob's text so far ("" before the run command creates it)."""
        try:
            return str(self.container.download_blob(name).readall().decode())
        except ResourceNotFoundError:
            return ""


@pytest.fixture(scope="module")
def world(azurite: Azurite) -> Iterator[World]:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.get_container_client(f"vmlogs{uuid.uuid4().hex[:8]}")
    container.create_container()
    with qemu_sim(azurite.connection_string) as (sim, vm_dir):
        w = World(sim, vm_dir, container)
        w.create_vm("build", DEBIAN)
        w.wait_agent("build")
        yield w
        w.resources.resource_groups.begin_delete(w.rg).result()
        assert_nothing_left(vm_dir)
    container.delete_container()


def test_the_vm_is_a_running_qemu_process_whose_agent_is_ready(world: World) -> None:
    view = world.compute.virtual_machines.instance_view(world.rg, "build")
    assert "PowerState/running" in [s.code for s in view.statuses]
    assert view.vm_agent.statuses[0].display_status == "Ready"
    assert len(leaks.qemu_processes((str(world.vm_dir),))) == 1
    found = world.run("build", "cat /etc/os-release; id -u")
    assert (found.execution_state, found.exit_code) == ("Succeeded", 0)
    assert "Debian GNU/Linux 12" in found.output and found.output.rstrip().endswith("0")


def test_output_is_streamed_into_the_append_blob_while_the_script_runs(world: World) -> None:
    script = "#!/bin/bash\necho first line\nsleep 6\necho second line\n"
    world.compute.virtual_machine_run_commands.begin_create_or_update(
        world.rg, "build", "live", world.body(script, "live", asyncExecution=True)
    ).result()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "first line" in world.blob("live.out.log"):
            break
        time.sleep(0.3)
    assert world.blob("live.out.log") == "first line\n"
    assert world.view("build", "live").execution_state == "Running"
    while world.view("build", "live").execution_state == "Running":
        time.sleep(0.5)
    assert world.blob("live.out.log") == "first line\nsecond line\n"


def test_a_failing_script_reports_its_exit_code_and_last_lines(world: World) -> None:
    found = world.run("build", "echo preparing\necho 'E: no such package' >&2\nexit 3\n", "fails")
    assert (found.execution_state, found.exit_code) == ("Failed", 3)
    assert found.output == "preparing\n"
    assert found.error == "E: no such package\n"
    assert world.blob("fails.err.log") == "E: no such package\n"


def test_the_timeout_kills_the_script_in_the_guest(world: World) -> None:
    found = world.run("build", "echo started\nsleep 300 & wait\n", "slow", timeoutInSeconds=3)
    assert found.execution_state == "TimedOut"
    left = world.run(
        "build",
        "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done | grep -c '^sleep 300' || true",
    )
    assert left.output.strip() == "0"


def test_a_repeated_put_of_the_same_run_command_does_not_run_it_again(world: World) -> None:
    script = "echo ran >> /root/ran-once\ncat /root/ran-once | wc -l\n"
    first = world.run("build", script, "once")
    again = world.run("build", script, "once")
    assert (first.output, again.output) == ("1\n", "1\n")
    assert world.run("build", "wc -l < /root/ran-once").output == "1\n"


def test_file_bytes_arrive_with_their_sha256(world: World) -> None:
    data = bytes(range(256)) * 64
    b64 = base64.b64encode(data).decode()
    script = (
        f"#!/bin/bash\nset -e\nbase64 -d > /opt/payload.bin <<'EOF'\n{b64}\nEOF\nsha256sum /opt/payload.bin\n"
    )
    found = world.run("build", script, "file")
    assert found.output.split()[0] == hashlib.sha256(data).hexdigest()


def test_a_gen2_vm_boots_under_uefi_with_its_data_disks_which_go_with_it(world: World) -> None:
    w = world
    disks = [
        {"lun": 1, "createOption": "Empty", "diskSizeGB": 3},
        {"lun": 0, "createOption": "Empty", "diskSizeGB": 2},
    ]
    before = set((w.vm_dir / "disks").iterdir())
    w.create_vm("gen2", DEBIAN_GEN2, disks)
    made = set((w.vm_dir / "disks").iterdir()) - before
    data = {f for f in made if "-data-" in f.name}
    assert (len(made), len(data)) == (3, 2)  # the OS disk's overlay and the two data disks
    w.wait_agent("gen2")
    found = w.run("gen2", "test -d /sys/firmware/efi && echo uefi; lsblk -bdn -o NAME,SIZE /dev/vdb /dev/vdc")
    assert found.output.split() == ["uefi", "vdb", str(2 * 1024**3), "vdc", str(3 * 1024**3)]
    w.compute.virtual_machines.begin_delete(w.rg, "gen2").result()
    # The data disks go with the VM; the OS disk stays, unattached (its deleteOption is Detach, as in Azure).
    assert set((w.vm_dir / "disks").iterdir()) - before == made - data


def test_a_data_disk_the_qemu_vm_cannot_have_is_a_400_naming_the_field(world: World) -> None:
    attach = [{"lun": 0, "createOption": "Attach", "managedDisk": {"id": "/subscriptions/x/disks/d"}}]
    for disks, field in (
        (attach, "storageProfile.dataDisks[0].createOption"),
        ([{"lun": 0, "createOption": "Empty"}], "storageProfile.dataDisks[0].diskSizeGB"),
    ):
        with pytest.raises(HttpResponseError) as caught:
            world.create_vm("nodisk", DEBIAN, disks)
        assert caught.value.status_code == 400
        assert caught.value.error is not None and caught.value.error.target == field
    with pytest.raises(ResourceNotFoundError):
        world.compute.virtual_machines.get(world.rg, "nodisk")


def _download_vhd(url: str, out: Path) -> None:
    blob = BlobClient.from_blob_url(url, credential={"account_name": ACCOUNT, "account_key": KEY})
    size = blob.get_blob_properties().size
    with out.open("wb") as f:
        f.truncate(size)
        for page in blob.get_page_ranges()[0]:
            f.seek(page["start"])
            f.write(
                blob.download_blob(offset=page["start"], length=page["end"] - page["start"] + 1).readall()
            )


def test_captured_image_gallery_version_and_vhd_boot_with_the_customization(world: World) -> None:
    w, c = world, world.compute
    assert w.run("build", f"echo built-by-kiln > {PROOF}").exit_code == 0
    deprovision = w.run("build", "waagent -force -deprovision+user && sync")
    assert deprovision.exit_code == 0, deprovision.error
    c.virtual_machines.begin_deallocate(w.rg, "build").result()
    assert leaks.qemu_processes((str(w.vm_dir),)) == []
    c.virtual_machines.generalize(w.rg, "build")
    vm_id = c.virtual_machines.get(w.rg, "build").id
    image = c.images.begin_create_or_update(
        w.rg, "img", {"location": LOCATION, "properties": {"sourceVirtualMachine": {"id": vm_id}}}
    ).result()
    c.galleries.begin_create_or_update(w.rg, "gal", {"location": LOCATION}).result()
    definition = {
        "location": LOCATION,
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "hyperVGeneration": "V1",
            "identifier": {"publisher": "kiln", "offer": "debian", "sku": "12"},
        },
    }
    c.gallery_images.begin_create_or_update(w.rg, "gal", "debian", definition).result()
    version_body = {
        "location": LOCATION,
        "properties": {
            "storageProfile": {"source": {"id": image.id}},
            "publishingProfile": {"targetRegions": [{"name": LOCATION}, {"name": "westus"}]},
        },
    }
    version = c.gallery_image_versions.begin_create_or_update(
        w.rg, "gal", "debian", "1.0.0", version_body
    ).result()
    disk = c.virtual_machines.get(w.rg, "build").storage_profile.os_disk.managed_disk.id.rsplit("/", 1)[1]
    sas = c.disks.begin_grant_access(w.rg, disk, {"access": "Read", "durationInSeconds": 3600}).result()
    vhd = new_dir("vhd-") / "captured.vhd"
    _download_vhd(sas.access_sas, vhd)
    c.disks.begin_revoke_access(w.rg, disk).result()
    assert vhd.stat().st_size % (1024 * 1024) == 512
    assert vhd.read_bytes()[-512:].startswith(b"conectix")
    # A VM from the gallery version (made from the managed image) boots with the customization.
    w.create_vm("chained", {"id": version.id})
    w.wait_agent("chained")
    assert w.run("chained", f"cat {PROOF}").output == "built-by-kiln\n"
    c.virtual_machines.begin_delete(w.rg, "chained").result()
    # And so does the VHD, booted on its own.
    booted = subprocess.run(
        [sys.executable, "-m", "azuresim.qemu", "boot", str(vhd), "--command", f"cat {PROOF}"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert booted.returncode == 0, booted.stderr
    assert "built-by-kiln" in booted.stdout
    vhd.unlink()


def test_no_qemu_process_outlives_a_sigkilled_azuresim(azurite: Azurite) -> None:
    with qemu_sim(azurite.connection_string) as (sim, vm_dir):
        w = World(sim, vm_dir, None)
        w.create_vm("orphan", DEBIAN)
        assert len(leaks.qemu_processes((str(vm_dir),))) == 1
        sim.proc.kill()  # SIGKILL: no cleanup handler runs
        deadline = time.monotonic() + 10
        while leaks.qemu_processes((str(vm_dir),)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leaks.qemu_processes((str(vm_dir),)) == []
        # The next start on the same folder sweeps what the crash left (disks, the socket folder).
        again = start_azuresim(
            storage_connection_string=azurite.connection_string,
            extra_args=["--compute", "qemu", "--vm-dir", str(vm_dir)],
        )
        again.stop()
        assert not list(Path(tempfile.gettempdir()).glob("azq-*"))
