"""The fakes' own levers (injected failures, failing deployments, state) and their conformance to the ports.

The typed assignments below are checked by mypy: a fake that drifts from its port fails ``mypy tests/``.
"""

from __future__ import annotations

import uuid

import pytest

from activities.support.deployment_template import BuildVmNames
from shared import ports
from shared.bootstrap import AzurePorts
from shared.errors import PermanentAzureError, TransientAzureError
from shared.models.azure import ErrorInfo, RunCommandSpec
from tests.azure.backends import Backend
from tests.azure.test_contract_resources import build_spec, deploy
from tests.fakes import FakeAzure, FakeCloud


def test_every_fake_conforms_to_its_port_and_matches_the_composition_root() -> None:
    fake = FakeAzure()
    conforming: list[object] = []
    groups: ports.ResourceGroups = fake.resource_groups
    resources: ports.Resources = fake.resources
    deployments: ports.Deployments = fake.deployments
    vms: ports.VirtualMachines = fake.virtual_machines
    commands: ports.RunCommands = fake.run_commands
    disks: ports.Disks = fake.disks
    images: ports.ManagedImages = fake.managed_images
    galleries: ports.Galleries = fake.galleries
    market: ports.Marketplace = fake.marketplace
    secrets: ports.Secrets = fake.secrets
    blobs: ports.Blobs = fake.blobs()
    conforming += [
        groups,
        resources,
        deployments,
        vms,
        commands,
        disks,
        images,
        galleries,
        market,
        secrets,
        blobs,
    ]

    root_ports = {
        n for n, v in vars(AzurePorts).items() if not n.startswith("_") and n not in ("target", "credential")
    }
    assert root_ports <= set(dir(fake))
    assert len(conforming) == 11


def test_an_injected_failure_fires_the_given_number_of_times_then_the_call_succeeds() -> None:
    fake = FakeAzure()
    fake.cloud.fail(
        "resource_groups.create", TransientAzureError("throttled", code="TooManyRequests"), times=2
    )

    for _ in range(2):
        with pytest.raises(TransientAzureError):
            fake.resource_groups.create(name="rg", location="westeurope", tags={})
    fake.resource_groups.create(name="rg", location="westeurope", tags={})

    assert fake.cloud.calls == ["resource_groups.create rg"] * 3
    assert fake.resource_groups.exists(name="rg")


def test_a_deployment_marked_to_fail_ends_failed_with_its_error_and_creates_nothing() -> None:
    backend = Backend("fake", FakeAzure(FakeCloud(lro_reads=1)))
    group = backend.new_group()
    spec = build_spec(backend, uuid.uuid4().hex)
    names = BuildVmNames.for_run(spec.run_id)
    backend.ports.cloud.failing_deployments[names.deployment] = ErrorInfo(
        code="SkuNotAvailable", message="no"
    )

    state = deploy(backend, group, spec)

    assert state.provisioning_state == "Failed"
    assert state.error == ErrorInfo(code="SkuNotAvailable", message="no")
    assert backend.ports.cloud.in_group(group) == []


def test_a_run_command_on_a_deallocated_vm_is_refused() -> None:
    backend = Backend("fake", FakeAzure(FakeCloud(lro_reads=0)))
    group = backend.new_group()
    spec = build_spec(backend, uuid.uuid4().hex)
    deploy(backend, group, spec)
    vm = BuildVmNames.for_run(spec.run_id).vm
    backend.ports.virtual_machines.begin_deallocate(resource_group=group, name=vm)
    command = RunCommandSpec(script="echo hi", output_blob_uri="https://x/o", error_blob_uri="https://x/e")

    with pytest.raises(PermanentAzureError):
        backend.ports.run_commands.begin_create(resource_group=group, vm_name=vm, name="c0", spec=command)

    assert backend.ports.virtual_machines.get(resource_group=group, name=vm).power_state == "deallocated"
