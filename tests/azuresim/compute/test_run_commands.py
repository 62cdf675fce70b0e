"""Managed run commands through ComputeManagementClient: output in real Azurite append blobs, outcomes chosen
through the control plane, async execution, timeouts, restarts and the deallocated-VM refusal."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from activities.support import scripts
from tests.support.azuresim import AzureSim, arm_error
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(60)
# With the latency model on, only the restart and the agent take time in the restart test.
FAST = {"arm.request": 0, "compute.runcommand.put": 0, "compute.runcommand.run": 0}


@pytest.fixture
def container(azurite: Azurite) -> Any:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.get_container_client(f"logs{uuid.uuid4().hex[:8]}")
    client.create_container()
    return client


@pytest.fixture(autouse=True)
def no_rules(sim: AzureSim) -> Any:
    yield
    sim.control("PUT", "/_sim/runcommand-outcomes", [])


def command(script: str, container: Any, **extra: Any) -> dict[str, Any]:
    return {
        "location": "eastus",
        "properties": {
            "source": {"script": script},
            "outputBlobUri": f"{container.url}/step1.out.log",
            "errorBlobUri": f"{container.url}/step1.err.log",
            **extra,
        },
    }


def blob_text(container: Any, name: str) -> str:
    return str(container.download_blob(name).readall().decode())


def test_script_output_lands_in_append_blobs_and_instance_view(
    compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")
    body = command("echo hello from kiln\napt-get update", container)
    compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", "step1", body).result()
    cmd = compute.virtual_machine_run_commands.get_by_virtual_machine(
        rg, "vm1", "step1", expand="instanceView"
    )
    view = cmd.instance_view
    assert (view.execution_state, view.exit_code, view.output) == ("Succeeded", 0, "hello from kiln\n")
    assert view.start_time is not None and view.end_time is not None
    assert blob_text(container, "step1.out.log") == "hello from kiln\n"
    props = container.get_blob_client("step1.out.log").get_blob_properties()
    assert props.blob_type == "AppendBlob"
    assert blob_text(container, "step1.err.log") == ""


def test_a_control_rule_fails_the_customizer_with_the_chosen_exit_code(
    sim: AzureSim, compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")
    rules = [
        {
            "pattern": r"apt-get install -y nope",
            "exitCode": 100,
            "stdout": "Reading package lists...\n",
            "stderr": "E: Unable to locate package nope\n",
        }
    ]
    sim.control("PUT", "/_sim/runcommand-outcomes", rules)
    body = command("set -e\napt-get install -y nope", container)
    poller = compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", "step1", body)
    assert poller.result().provisioning_state == "Succeeded"  # a failed script is not a failed deployment
    view = compute.virtual_machine_run_commands.get_by_virtual_machine(
        rg, "vm1", "step1", expand="instanceView"
    ).instance_view
    assert (view.execution_state, view.exit_code) == ("Failed", 100)
    assert view.error == "E: Unable to locate package nope\n"
    assert blob_text(container, "step1.err.log") == "E: Unable to locate package nope\n"
    assert blob_text(container, "step1.out.log") == "Reading package lists...\n"


def test_treat_failure_as_deployment_failure_fails_the_put(
    sim: AzureSim, compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")
    sim.control("PUT", "/_sim/runcommand-outcomes", [{"pattern": "exit 3", "exitCode": 3}])
    body = command("exit 3", container, treatFailureAsDeploymentFailure=True)
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", "step1", body).result()
    assert arm_error(err.value)[0] == "VMExtensionProvisioningError"
    cmd = compute.virtual_machine_run_commands.get_by_virtual_machine(rg, "vm1", "step1")
    assert cmd.provisioning_state == "Failed"


def test_async_execution_returns_while_the_script_still_runs(
    sim: AzureSim, compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")
    sim.control("PUT", "/_sim/runcommand-outcomes", [{"pattern": "sleep", "durationSeconds": 1.0}])
    body = command("sleep 60", container, asyncExecution=True)
    compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", "step1", body).result()
    get = compute.virtual_machine_run_commands.get_by_virtual_machine
    assert get(rg, "vm1", "step1", expand="instanceView").instance_view.execution_state == "Running"
    deadline = time.monotonic() + 10
    while get(rg, "vm1", "step1", expand="instanceView").instance_view.execution_state == "Running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert get(rg, "vm1", "step1", expand="instanceView").instance_view.execution_state == "Succeeded"


def test_a_script_longer_than_its_timeout_times_out(
    sim: AzureSim, compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")
    sim.control("PUT", "/_sim/runcommand-outcomes", [{"pattern": "long", "durationSeconds": 30}])
    body = command("long task", container, timeoutInSeconds=1)
    compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", "step1", body).result()
    view = compute.virtual_machine_run_commands.get_by_virtual_machine(
        rg, "vm1", "step1", expand="instanceView"
    ).instance_view
    assert view.execution_state == "TimedOut"


def test_protected_parameters_are_never_echoed(compute: Any, rg: str, make_vm: Any, container: Any) -> None:
    make_vm("vm1")
    body = command(
        "echo hi",
        container,
        parameters=[{"name": "A", "value": "visible"}],
        protectedParameters=[{"name": "TOKEN", "value": "hunter2"}],
    )
    result = compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", "step1", body).result()
    assert result.protected_parameters is None
    listed = list(
        compute.virtual_machine_run_commands.list_by_virtual_machine(rg, "vm1", expand="instanceView")
    )
    assert [c.name for c in listed] == ["step1"]
    assert "hunter2" not in str(listed[0].as_dict())
    assert listed[0].parameters[0].value == "visible"


def test_restart_script_puts_the_vm_through_a_restart(
    sim: AzureSim, compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")
    sim.control(
        "PUT",
        "/_sim/latency",
        {"scale": 1.0, "ops": {**FAST, "compute.vm.restart": 0.6, "compute.vm.agent": 0.6}},
    )
    try:
        body = command("shutdown /r /t 0", container)
        compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", "reboot", body).result()
        seen = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            view = compute.virtual_machines.instance_view(rg, "vm1")
            power = next(s.code for s in view.statuses if s.code.startswith("PowerState/"))
            seen.add((power, view.vm_agent.statuses[0].display_status))
            if ("PowerState/running", "Ready") in seen and len(seen) > 1:
                break
            time.sleep(0.05)
    finally:
        sim.control("PUT", "/_sim/latency", {"scale": 0.0})
    assert ("PowerState/starting", "Not Ready") in seen
    assert ("PowerState/running", "Ready") in seen


def test_run_command_on_a_deallocated_vm_is_refused(
    compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")
    compute.virtual_machines.begin_deallocate(rg, "vm1").result()
    with pytest.raises(ResourceExistsError) as err:
        compute.virtual_machine_run_commands.begin_create_or_update(
            rg, "vm1", "s", command("ls", container)
        ).result()
    assert arm_error(err.value) == (
        "OperationNotAllowed",
        "Cannot modify extensions in the VM when the VM is not running.",
    )


def test_deleted_run_command_is_gone(compute: Any, rg: str, make_vm: Any, container: Any) -> None:
    make_vm("vm1")
    compute.virtual_machine_run_commands.begin_create_or_update(
        rg, "vm1", "s", command("ls", container)
    ).result()
    compute.virtual_machine_run_commands.begin_delete(rg, "vm1", "s").result()
    assert list(compute.virtual_machine_run_commands.list_by_virtual_machine(rg, "vm1")) == []


def test_script_uri_is_read_from_the_blob_and_outputs_go_through_a_sas(
    sim: AzureSim, compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")
    container.upload_blob(
        "scripts/install.sh", b"#!/bin/bash\necho installing nginx\napt-get install -y nginx\n"
    )
    sim.control(
        "PUT",
        "/_sim/runcommand-outcomes",
        [{"pattern": "install -y nginx", "exitCode": 0, "stdout": "nginx installed\n"}],
    )
    sas = generate_container_sas(
        container.account_name,
        container.container_name,
        account_key=container.credential.account_key,
        permission=ContainerSasPermissions(read=True, write=True, create=True, add=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    body = {
        "location": "eastus",
        "properties": {
            "source": {"scriptUri": f"{container.url}/scripts/install.sh"},
            "outputBlobUri": f"{container.url}/out/install.log?{sas}",
        },
    }
    compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", "install", body).result()
    assert blob_text(container, "out/install.log") == "nginx installed\n"


def _view(compute: Any, rg: str, name: str) -> Any:
    return compute.virtual_machine_run_commands.get_by_virtual_machine(
        rg, "vm1", name, expand="instanceView"
    ).instance_view


def test_a_scheduled_task_logs_on_only_with_the_vms_admin_user_and_password(
    compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")  # adminUsername kiln, adminPassword S3cret!pass
    script = scripts.powershell_as_user("step", b"Write-Output hi\n", user="kiln", elevated=True)
    for name, password in (("right", "S3cret!pass"), ("wrong", "guess")):
        body = command(script, container, protectedParameters=[{"name": "KilnPassword", "value": password}])
        result = compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", name, body).result()
        assert result.protected_parameters is None  # never answered
    other = scripts.powershell_as_user("step", b"x\n", user="someone", elevated=False)
    body = command(other, container, protectedParameters=[{"name": "KilnPassword", "value": "S3cret!pass"}])
    compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", "other", body).result()

    assert (_view(compute, rg, "right").execution_state, _view(compute, rg, "right").exit_code) == (
        "Succeeded",
        0,
    )
    for refused in ("wrong", "other"):
        view = _view(compute, rg, refused)
        assert (view.execution_state, view.exit_code) == ("Failed", 1)
        assert "The user name or password is incorrect" in view.error


def test_a_boot_mark_holds_until_the_vm_restarts(
    sim: AzureSim, compute: Any, rg: str, make_vm: Any, container: Any
) -> None:
    make_vm("vm1")
    run = compute.virtual_machine_run_commands.begin_create_or_update

    def proof(name: str) -> Any:
        run(rg, "vm1", name, command(scripts.restart_proof_script("s", windows=True), container)).result()
        return _view(compute, rg, name)

    before = proof("before")
    run(rg, "vm1", "mark", command(scripts.restart_mark_script("s", None, windows=True), container)).result()
    held = proof("held")
    compute.virtual_machines.begin_restart(rg, "vm1").result()
    deadline = time.monotonic() + 10
    while compute.virtual_machines.instance_view(rg, "vm1").vm_agent.statuses[0].display_status != "Ready":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    after = proof("after")

    assert (before.exit_code, held.exit_code, after.exit_code) == (0, scripts.RESTART_PENDING_EXIT, 0)
    assert held.execution_state == "Failed" and held.output.startswith("kiln: not restarted yet (up since 20")
    assert after.output.startswith("kiln: restarted (up since 20")
