"""Run Command output blobs get a writable SAS URL that goes to Azure only, never into history or logs.

The adapter is tested against Azurite (a SAS signed with the account key, as in local mode); the activity
against the stateful fakes, whose Run Commands upload their output only through a SAS the storage issued.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, BlobServiceClient

from activities import steps, vm_power
from shared import naming
from shared.azure.blobs import AzureBlobs
from shared.models.azure import RunCommandSpec
from shared.models.build import StepSpec
from shared.models.durable import StepInput
from tests.activities.support import deployed, linux_template, poll, windows_template, world
from tests.fakes import FakeAzure, ScriptOutcome, arm_id
from tests.support.azurite import Azurite


@pytest.mark.timeout(60)
def test_the_adapter_signs_a_url_anyone_holding_it_can_append_to_until_it_expires(azurite: Azurite) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs = AzureBlobs(service)
    container = f"sas{uuid.uuid4().hex[:12]}"
    blobs.ensure_container(container=container)
    plain = blobs.create_append_blob(container=container, name="run/steps/out.stdout")

    url = blobs.writable_url(container=container, name="run/steps/out.stdout", valid_seconds=7200)

    BlobClient.from_blob_url(url).append_block(b"written by the VM\n")  # no credential but the SAS
    assert (
        blobs.read_from(container=container, name="run/steps/out.stdout", offset=0) == b"written by the VM\n"
    )
    with pytest.raises(HttpResponseError):  # the plain URL of a private container is not writable
        BlobClient.from_blob_url(plain).append_block(b"x")
    query = parse_qs(urlsplit(url).query)
    expiry = datetime.fromisoformat(query["se"][0].replace("Z", "+00:00"))
    assert timedelta(seconds=7100) < expiry - datetime.now(UTC) <= timedelta(seconds=7200)
    assert set(query["sp"][0]) == set("racw")


def _spec(fake: FakeAzure, vm_group: str, vm_name: str, command: str) -> RunCommandSpec:
    rid = arm_id(vm_group, "Microsoft.Compute/virtualMachines/runCommands", vm_name, command)
    spec: RunCommandSpec = fake.cloud.get(rid)["spec"]
    return spec


def test_a_step_hands_azure_sas_urls_and_its_output_reaches_the_log_without_the_sas() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    fake.run_commands.outcomes.append(ScriptOutcome("customize step 0", stdout="hello\n", reads=3))
    step = StepSpec(
        phase="customize", index=0, name="s", kind="Shell", spec={"type": "Shell", "inline": ["echo hello"]}
    )
    inp = StepInput(run=run, vm=vm, step=step)

    started = steps.start(inp, ports=fake)
    sent = _spec(fake, vm.resource_group, vm.vm_name, steps.command_name(inp))
    done = poll(steps.check, inp, fake)

    for uri, stream in ((sent.output_blob_uri, "stdout"), (sent.error_blob_uri, "stderr")):
        base, _, query = uri.partition("?")
        assert fake.cloud.sas[parse_qs(query)["sig"][0]] == base
        assert base.endswith(naming.step_output_blob(run.run_id, "customize", 0, 0, stream))
    assert done.succeeded and done.outcome is not None and "hello" in done.outcome.log_tail
    blobs = fake.blobs(account_url=fake.storage_account_url(vm.storage_account))
    log = blobs.download(container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run.run_id))
    for text in (started.model_dump_json(), done.model_dump_json(), log.decode()):
        assert "sig=" not in text


def test_a_retried_step_start_does_not_put_the_running_command_again() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    fake.run_commands.outcomes.append(ScriptOutcome("customize step 0", reads=5))
    step = StepSpec(phase="customize", index=0, kind="Shell", spec={"type": "Shell", "inline": ["true"]})
    inp = StepInput(run=run, vm=vm, step=step)

    first, again = steps.start(inp, ports=fake), steps.start(inp, ports=fake)

    assert first == again and first.error is None
    assert len([c for c in fake.cloud.calls if c.startswith("run_commands.create")]) == 1


def test_a_custom_restart_command_also_writes_through_a_sas() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, windows_template())
    step = StepSpec(
        phase="customize",
        index=1,
        kind="WindowsRestart",
        os_type="Windows",
        spec={"type": "WindowsRestart", "restartCommand": "shutdown /r /f /t 5"},
    )

    started = vm_power.restart(StepInput(run=run, vm=vm, step=step), ports=fake)

    assert started.error is None and started.command_name
    sent = _spec(fake, vm.resource_group, vm.vm_name, started.command_name)
    assert "sig=" in sent.output_blob_uri and "sig=" in sent.error_blob_uri
    assert "sig=" not in json.dumps(started.model_dump(mode="json"))
