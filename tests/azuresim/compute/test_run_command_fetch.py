"""A kiln step's download of a staged artifact, as a simulated VM makes it: azuresim reads the blob from
Azurite with the URL's own SAS and nothing else, and checks its sha256, before the command "runs".

The command bodies are kiln's own (``activities/support/scripts.py``), the SAS URLs the adapter's
(``AzureBlobs.readable_url``), the run commands PUT through ComputeManagementClient.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from activities.support import scripts
from azuresim.providers.runcommand_exec import for_qemu_guest
from shared.azure.blobs import AzureBlobs
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(60)
PAYLOAD = b"#!/bin/sh\necho configured\n"
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def staging(azurite: Azurite) -> tuple[AzureBlobs, str]:
    """A private container holding one staged artifact, and the container's name."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    name = f"artifacts{uuid.uuid4().hex[:8]}"
    blobs = AzureBlobs(service)
    blobs.ensure_container(container=name)
    blobs.upload(container=name, name="run/customize-000", data=PAYLOAD)
    blobs.create_append_blob(container=name, name="out.log")
    blobs.create_append_blob(container=name, name="err.log")
    return blobs, name


def _run(compute: Any, rg: str, staging: tuple[AzureBlobs, str], script: str, name: str) -> Any:
    blobs, container = staging
    out = blobs.writable_url(container=container, name="out.log", valid_seconds=600)
    err = blobs.writable_url(container=container, name="err.log", valid_seconds=600)
    body = {
        "location": "eastus",
        "properties": {"source": {"script": script}, "outputBlobUri": out, "errorBlobUri": err},
    }
    compute.virtual_machine_run_commands.begin_create_or_update(rg, "vm1", name, body).result()
    cmd = compute.virtual_machine_run_commands.get_by_virtual_machine(rg, "vm1", name, expand="instanceView")
    return cmd.instance_view


def test_the_vm_fetches_with_a_read_only_sas_and_a_wrong_one_or_checksum_fails_the_step(
    compute: Any, rg: str, make_vm: Any, staging: tuple[AzureBlobs, str]
) -> None:
    make_vm("vm1")
    blobs, container = staging
    url = blobs.readable_url(container=container, name="run/customize-000", valid_seconds=600)

    ok = _run(compute, rg, staging, scripts.shell_script("customize step 0", scripts.Fetch(url, SHA)), "ok")
    assert (ok.execution_state, ok.exit_code) == ("Succeeded", 0)

    forged = url.replace("sig=", "sig=AAAA")
    refused = _run(compute, rg, staging, scripts.shell_script("step", scripts.Fetch(forged, SHA)), "forged")
    assert (refused.execution_state, refused.exit_code) == ("Failed", 22)
    assert "403" in refused.error and "sig=" not in refused.error

    plain = url.split("?", 1)[0]  # a VM holds no account key: the private blob without a SAS is refused
    unsigned = _run(compute, rg, staging, scripts.shell_script("step", scripts.Fetch(plain, SHA)), "plain")
    assert (unsigned.execution_state, unsigned.exit_code) == ("Failed", 22)

    wrong = scripts.file_script("step", scripts.Fetch(url, "0" * 64), "/tmp/f", windows=False)
    mismatch = _run(compute, rg, staging, wrong, "mismatch")
    assert (mismatch.execution_state, mismatch.exit_code) == ("Failed", 1)
    assert "0" * 64 in mismatch.error


def test_a_qemu_guest_reaches_the_hosts_azurite_at_10_0_2_2() -> None:
    fetch = scripts.Fetch("http://127.0.0.1:10000/devstoreaccount1/a/b?sp=r&sig=x", SHA)
    script = scripts.shell_script("step", fetch)
    guest = for_qemu_guest(script)
    assert "kiln_fetch 'http://10.0.2.2:10000/devstoreaccount1/a/b?sp=r&sig=x'" in guest
    assert guest.replace("10.0.2.2", "127.0.0.1") == script  # nothing else changes
