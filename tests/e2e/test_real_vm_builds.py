"""Whole kiln builds on real VMs: the local stack with azuresim's QEMU compute and the Debian 12 base image.

kiln's code path is the one it takes in Azure; what is real here is the VM. One successful build checks a
Shell customizer's effect, a File customizer's bytes and sha256, and a VHD that boots with both
(``validExitCodes`` is a PowerShell field in AIB's contract, and Windows build VMs stay simulated);
failing builds check the run's error (customizer, exit code, the script's last lines) and that a failed
inVMValidation stops distribution; a cancel during a long script and a SIGKILL of devhost during a script
check what is left and that the script ran once. After each test no QEMU process of the stack is left and
no disk beyond those of images it made.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cli.local_vm_proof import download_vhd
from tests.support import leaks
from tests.support.scenarios import linux_template, outcome, run_parallel, shell
from tests.support.stack import KilnStack
from tests.support.tempdirs import new_dir
from tests.support.vms import base_image

pytestmark = [pytest.mark.e2e, pytest.mark.vm, pytest.mark.slow, pytest.mark.timeout(1500)]
DEBIAN = {
    "type": "PlatformImage",
    "publisher": "Debian",
    "offer": "debian-12",
    "sku": "12",
    "version": "latest",
}
PAYLOAD = bytes(range(256)) * 40


@pytest.fixture(scope="module")
def vm_stack() -> Iterator[KilnStack]:
    base_image()
    running = KilnStack(new_dir("vm-stack-"), latency_scale=0.01, compute="qemu").start()
    try:
        assert running.compute == "qemu", running.compute_why
        yield running
    finally:
        running.stop()
    assert leaks.qemu_processes((str(running.state),)) == []


@pytest.fixture(autouse=True)
def no_qemu_left(vm_stack: KilnStack) -> Iterator[None]:
    yield
    # Every build VM is deleted with its run: no QEMU process, no OS disk or machine folder stays.
    assert leaks.qemu_processes((str(vm_stack.state),)) == []
    vms = vm_stack.state / "vms"
    assert [f for f in leaks.vm_files(vms) if "/images/" not in f] == []


def debian(customize: list[dict[str, Any]], **properties: Any) -> dict[str, Any]:
    body = linux_template(customize=customize, distribute=[{"type": "VHD", "runOutputName": "vhd"}])
    body["properties"].update(source=dict(DEBIAN), buildTimeoutInMinutes=120, **properties)
    return body


def build(stack: KilnStack, name: str, body: dict[str, Any]) -> dict[str, Any]:
    stack.create_template(name, body)
    run_id = stack.start_run(name)
    return {"run_id": run_id, "run": stack.wait_run(name, run_id, timeout=1200)}


def wait_script(stack: KilnStack, name: str, run_id: str) -> None:
    def running(props: dict[str, Any]) -> bool:
        return (props.get("step") or {}).get("state") == "Running"

    stack.wait_for(name, run_id, running, timeout=900, what="the script running")


def log_of(stack: KilnStack, name: str, run_id: str) -> str:
    return stack.client.read_log(name, run_id).text


def test_a_build_puts_its_customization_in_a_vhd_that_boots(vm_stack: KilnStack) -> None:
    url, sha = vm_stack.artifacts.add("vm-e2e/payload.bin", PAYLOAD)
    body = debian(
        [
            shell("stamp", "echo stamped-by-kiln > /etc/kiln-e2e"),
            {"type": "File", "name": "payload", "sourceUri": url, "destination": "/tmp/payload.bin",
             "sha256Checksum": sha},
            shell("keep-payload", "install -D -m 0644 /tmp/payload.bin /opt/e2e/payload.bin",
                  "sha256sum /opt/e2e/payload.bin"),
        ],
        validate={"inVMValidations": [shell("stamped", "grep -q stamped-by-kiln /etc/kiln-e2e")]},
    )  # fmt: skip
    done = build(vm_stack, "vm-good", body)
    props = done["run"]["properties"]
    assert props["runState"] == "Succeeded", (props.get("message"), vm_stack.proc("azuresim").log_tail())
    log = log_of(vm_stack, "vm-good", done["run_id"])
    assert f"{hashlib.sha256(PAYLOAD).hexdigest()}  /opt/e2e/payload.bin" in log
    vhd_url = vm_stack.run_outputs("vm-good")["vhd"]["properties"]["artifactUri"]
    vhd = new_dir("vm-vhd-") / "out.vhd"
    download_vhd(vhd_url, vhd, vm_stack.proc("azurite").info["connectionString"])
    booted = subprocess.run(
        [sys.executable, "-m", "azuresim.qemu", "boot", str(vhd), "--command",
         "cat /etc/kiln-e2e; sha256sum /opt/e2e/payload.bin"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    vhd.unlink()
    assert booted.returncode == 0, booted.stdout + booted.stderr
    assert "stamped-by-kiln" in booted.stdout
    assert hashlib.sha256(PAYLOAD).hexdigest() in booted.stdout


def test_a_failing_script_and_a_failing_validation_fail_their_runs(vm_stack: KilnStack) -> None:
    failing = debian(
        [shell("breaks", "echo getting ready", "echo 'E: Unable to locate package nope' >&2", "exit 3")]
    )
    invalid = debian(
        [shell("fine", "echo fine")],
        validate={"inVMValidations": [shell("must-fail", "echo checking", "exit 1")]},
    )
    results = run_parallel(
        {"breaks": lambda: build(vm_stack, "vm-breaks", failing),
         "invalid": lambda: build(vm_stack, "vm-invalid", invalid)},
        timeout=1300,
    )  # fmt: skip
    broke = outcome(results, "breaks")["run"]["properties"]
    assert broke["runState"] == "Failed"
    assert "breaks" in broke["message"] and "3" in broke["message"], broke["message"]
    log = log_of(vm_stack, "vm-breaks", outcome(results, "breaks")["run_id"])
    assert "getting ready" in log and "E: Unable to locate package nope" in log
    checked = outcome(results, "invalid")["run"]["properties"]
    assert checked["runState"] == "Failed"
    assert "must-fail" in checked["message"], checked["message"]
    assert vm_stack.run_outputs("vm-invalid") == {}  # validation failed: nothing was distributed


def test_cancel_during_a_long_script_kills_the_vm(vm_stack: KilnStack) -> None:
    name = "vm-cancel"
    vm_stack.create_template(name, debian([shell("long", "echo started", "sleep 600")]))
    run_id = vm_stack.start_run(name)
    wait_script(vm_stack, name, run_id)
    assert vm_stack.client.cancel_run(name).status_code == 202
    run = vm_stack.wait_run(name, run_id, timeout=600)
    assert run["properties"]["runState"] == "Canceled"
    vm_stack.wait_deployments_settled(run_id)
    assert vm_stack.leftovers(run_id) == []


def test_sigkill_of_devhost_during_a_script_runs_it_once(vm_stack: KilnStack) -> None:
    name = "vm-sigkill"
    vm_stack.create_template(name, debian([shell("slow-once", "echo ran-the-script-marker", "sleep 30")]))
    run_id = vm_stack.start_run(name)
    wait_script(vm_stack, name, run_id)
    deadline = time.monotonic() + 600  # the live log shows the script's first line once the VM runs it
    while "ran-the-script-marker" not in log_of(vm_stack, name, run_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    vm_stack.kill_devhost()
    vm_stack.restart_devhost()
    run = vm_stack.wait_run(name, run_id, timeout=900)
    assert run["properties"]["runState"] == "Succeeded", run["properties"].get("message")
    assert log_of(vm_stack, name, run_id).count("ran-the-script-marker") == 1
