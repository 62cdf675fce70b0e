"""A small world for activity tests: a fake subscription with a resource group, identities and a gallery."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs

from activities import deploy_vm, preflight, resolve_source, staging_group
from shared import naming
from shared.models.azure import ImageDefinitionSpec
from shared.models.build import BuildVm, ResolvedSource, RunRef, StagingPlan
from shared.models.durable import (
    DeployInput,
    Polled,
    PreflightInput,
    ResolveSourceInput,
    StagingInput,
    Wait,
)
from tests.fakes import SUBSCRIPTION, FakeAzure, arm_id

P = TypeVar("P", bound=Polled)
RG = "rg1"
LOCATION = "westus2"
IDENTITY = arm_id(RG, "Microsoft.ManagedIdentity/userAssignedIdentities", "aib-identity")
VM_IDENTITY = arm_id(RG, "Microsoft.ManagedIdentity/userAssignedIdentities", "vm-identity")
GALLERY = "gallery1"
UBUNTU_DEF = arm_id(RG, "Microsoft.Compute/galleries/images", GALLERY, "ubuntu")
WINDOWS_DEF = arm_id(RG, "Microsoft.Compute/galleries/images", GALLERY, "win2022")
MANAGED_IMAGE = arm_id(RG, "Microsoft.Compute/images", "golden")


def run_ref(number: int = 1, template_name: str = "tpl") -> RunRef:
    return RunRef(
        subscription_id=SUBSCRIPTION,
        resource_group=RG,
        template_name=template_name,
        run_id=naming.run_id(SUBSCRIPTION, RG, template_name, number),
        location=LOCATION,
        expires_at="2026-11-27T06:00:00Z",
    )


def linux_template(**properties: Any) -> dict[str, Any]:
    """Ubuntu 24.04 latest (TrustedLaunchSupported, Gen2) to a managed image; ``properties`` override."""
    body: dict[str, Any] = {
        "location": LOCATION,
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
        "properties": {
            "source": {
                "type": "PlatformImage",
                "publisher": "Canonical",
                "offer": "ubuntu-24_04-lts",
                "sku": "server",
                "version": "latest",
            },
            "distribute": [
                {
                    "type": "ManagedImage",
                    "imageId": MANAGED_IMAGE,
                    "location": LOCATION,
                    "runOutputName": "mi",
                }
            ],
        },
    }
    body["properties"].update(copy.deepcopy(properties))
    return body


def windows_template(**properties: Any) -> dict[str, Any]:
    body = linux_template(**properties)
    body["properties"]["source"] = {
        "type": "PlatformImage",
        "publisher": "MicrosoftWindowsServer",
        "offer": "WindowsServer",
        "sku": "2022-datacenter-g2",
        "version": "latest",
    }
    return body


def world() -> FakeAzure:
    """The template's group, its identities and a gallery with a Linux (TLS) and a Windows definition."""
    fake = FakeAzure()
    fake.resource_groups.create(name=RG, location=LOCATION, tags={})
    for identity in (IDENTITY, VM_IDENTITY):
        fake.cloud.put(identity, {"location": LOCATION})
    fake.galleries.create_gallery(resource_group=RG, name=GALLERY, location=LOCATION, tags={})
    definitions = [
        ("ubuntu", "Linux", {"SecurityType": "TrustedLaunchSupported"}),
        ("win2022", "Windows", {}),
    ]
    for name, os_type, features in definitions:
        assert os_type in ("Linux", "Windows")
        spec = ImageDefinitionSpec(
            location=LOCATION,
            os_type=os_type,
            hyper_v_generation="V2",
            publisher="kiln",
            offer=name,
            sku="1",
            features=features,
        )
        fake.galleries.create_image_definition(resource_group=RG, gallery=GALLERY, name=name, spec=spec)
    return fake


def poll(fn: Callable[..., Polled], inp: Any, fake: FakeAzure, limit: int = 30) -> Polled:
    """Call a one-look check until it reports done, as a waiting activity does."""
    for _ in range(limit):
        out = fn(inp, ports=fake)
        if out.done:
            return out
    raise AssertionError(f"{fn.__name__} never finished")


def wait(seconds: float = 10.0) -> Wait:
    """A wait for an activity: up to ``seconds``, asking again at once (the fakes keep no clock)."""
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    return Wait(until=until.isoformat().replace("+00:00", "Z"), poll_seconds=0.0, max_poll_seconds=0.0)


def waited(fn: Callable[..., Awaitable[P]], inp: Any, fake: FakeAzure, limit: int = 5) -> P:
    """Call a waiting activity until it answers done, as the orchestration does (``Flow.wait_for``)."""
    for _ in range(limit):
        out = asyncio.run(fn(inp, ports=fake))
        if out.done:
            return out
    raise AssertionError(f"{fn.__name__} never finished")


def resolved(fake: FakeAzure, template: dict[str, Any], run: RunRef) -> ResolvedSource:
    out = resolve_source.run(ResolveSourceInput(run=run, template=template), ports=fake)
    assert out.error is None, out.error
    assert out.source is not None
    return out.source


def deployed(
    fake: FakeAzure, template: dict[str, Any], run: RunRef | None = None
) -> tuple[RunRef, ResolvedSource, StagingPlan, BuildVm]:
    """Run phases 1-4 and wait for the deployment: a running build VM."""
    run = run or run_ref()
    source = resolved(fake, template, run)
    checked = preflight.run(PreflightInput(run=run, template=template, source=source), ports=fake)
    assert checked.error is None, checked.error
    assert checked.staging is not None
    staged = staging_group.run(StagingInput(run=run, template=template, plan=checked.staging), ports=fake)
    assert staged.error is None, staged.error
    inp = DeployInput(run=run, template=template, source=source, staging=checked.staging, wait=wait())
    done = waited(deploy_vm.run, inp, fake)
    assert done.succeeded and done.vm is not None, done.error
    return run, source, checked.staging, done.vm


FETCH_LINE = re.compile(r"^(?:kiln_fetch|Kiln-Fetch) '([^']*)' '([0-9a-f]{64})' ", re.M)


def fetched(fake: FakeAzure, script: str) -> bytes:
    """What the VM downloads for a step's command: the one staged blob its read-only SAS URL names (a
    signature the fake storage issued), checked against the sha256 the command carries."""
    found = FETCH_LINE.findall(script)
    assert len(found) == 1, script
    url, sha256 = found[0]
    base, _, query = url.partition("?")
    signed = parse_qs(query)
    assert fake.cloud.sas.get(signed["sig"][0]) == base and signed["sp"] == ["r"]
    data = bytes(fake.cloud.blobs[base])
    assert hashlib.sha256(data).hexdigest() == sha256
    return data


def stage(fake: FakeAzure, vm: BuildVm, run: RunRef, phase: str, index: int, data: bytes) -> None:
    """Put an artifact in the staging account as ``stage_artifacts`` leaves it: the bytes and their sha256."""
    staging = fake.blobs(account_url=fake.storage_account_url(vm.storage_account))
    staging.ensure_container(container=naming.ARTIFACT_CONTAINER)
    staging.upload(
        container=naming.ARTIFACT_CONTAINER, name=naming.artifact_blob(run.run_id, phase, index), data=data
    )
    checksum = hashlib.sha256(data).hexdigest().encode()
    name = naming.artifact_checksum_blob(run.run_id, phase, index)
    staging.upload(container=naming.ARTIFACT_CONTAINER, name=name, data=checksum)
