"""prepare_staging_group and deploy_build_vm (start, then wait for the deployment) against the fake
subscription."""

from __future__ import annotations

import json

from activities import deploy_vm, staging_group
from activities.support.context import template_id
from activities.support.deployment_template import BuildVmNames
from shared import naming
from shared.models.azure import ErrorInfo
from shared.models.build import StagingPlan
from shared.models.durable import DeployInput, StagingInput
from tests.activities.support import RG, deployed, linux_template, resolved, run_ref, wait, waited, world
from tests.fakes import arm_id


def test_the_default_staging_group_carries_aib_and_managed_tags_but_not_the_run_tag() -> None:
    fake = world()
    run = run_ref()
    plan = StagingPlan(
        resource_group=staging_group.default_staging_group(run), create=True, storage_account="s"
    )
    template = linux_template(managedResourceTags={"costCenter": "42"})

    out = staging_group.run(StagingInput(run=run, template=template, plan=plan), ports=fake)

    group = fake.cloud.groups[plan.resource_group.lower()]
    assert out.resource_group_id == group["id"]
    assert group["location"] == "westus2"
    assert group["tags"]["createdBy"] == "kiln"
    assert group["tags"]["imageTemplateName"] == "tpl"
    assert group["tags"]["imageTemplateResourceGroupName"] == RG
    assert group["tags"]["costCenter"] == "42"
    assert naming.RUN_TAG not in group["tags"]  # the group outlives the run: the janitor must not take it


def test_an_existing_given_staging_group_keeps_its_tags_and_gets_used_by() -> None:
    fake = world()
    fake.resource_groups.create(name="mine", location="westus2", tags={"owner": "me"})
    plan = StagingPlan(resource_group="mine", create=False, storage_account="s")

    staging_group.run(StagingInput(run=run_ref(), template=linux_template(), plan=plan), ports=fake)

    tags = fake.cloud.groups["mine"]["tags"]
    assert tags["owner"] == "me" and tags["usedBy"] == "kiln" and tags["imageTemplateName"] == "tpl"
    assert "createdBy" not in tags


def test_the_build_vm_is_deployed_tagged_with_a_password_kept_in_key_vault() -> None:
    fake = world()
    template = linux_template(
        managedResourceTags={"costCenter": "42"},
        vmProfile={
            "userAssignedIdentities": [
                arm_id(RG, "Microsoft.ManagedIdentity/userAssignedIdentities", "vm-identity")
            ]
        },
    )

    run, _, plan, vm = deployed(fake, template)

    names = BuildVmNames.for_run(run.run_id)
    made = {r["name"]: r for r in fake.cloud.in_group(plan.resource_group)}
    assert {
        names.vm,
        names.nic,
        names.public_ip,
        names.vnet,
        names.nsg,
        names.os_disk,
        names.storage_account,
    } <= set(made)
    account = made.pop(names.storage_account)
    for resource in made.values():
        assert resource["tags"][naming.RUN_TAG] == run.run_id
        assert resource["tags"][naming.EXPIRES_TAG] == run.expires_at
        assert resource["tags"]["costCenter"] == "42"
    # The staging account lives as long as the template: the template's tags, never the run's.
    assert account["tags"] == {
        "costCenter": "42",
        "createdBy": "kiln",
        "imageTemplateName": run.template_name,
        "imageTemplateResourceGroupName": run.resource_group,
        naming.TEMPLATE_TAG: template_id(run),
    }
    password = fake.cloud.secrets[naming.admin_secret_name(run.run_id)]
    assert len(password) >= 12
    assert password not in json.dumps(vm.model_dump(mode="json"))
    assert password not in json.dumps(fake.cloud.deployments[next(iter(fake.cloud.deployments))]["resources"])
    vm_res = made[names.vm]
    assert vm_res["properties"]["hardwareProfile"]["vmSize"] == "Standard_D2ds_v4"
    assert vm_res["properties"]["securityProfile"]["securityType"] == "TrustedLaunch"
    assert list(vm_res["identity"]["userAssignedIdentities"]) == [
        template["properties"]["vmProfile"]["userAssignedIdentities"][0]
    ]


def test_a_second_run_of_the_template_deploys_its_own_build_vm_beside_the_first_runs_leftovers() -> None:
    fake = world()
    first, _, plan, first_vm = deployed(fake, linux_template())
    second, _, _, second_vm = deployed(fake, linux_template(), run_ref(2))

    assert first_vm.vm_name != second_vm.vm_name
    assert first_vm.deployment_name != second_vm.deployment_name
    assert not set(first_vm.resource_ids) & set(second_vm.resource_ids)
    assert first_vm.storage_account == second_vm.storage_account  # one staging account per template
    by_name = {r["name"]: r for r in fake.cloud.in_group(plan.resource_group)}
    assert by_name[first_vm.vm_name]["tags"][naming.RUN_TAG] == first.run_id
    assert by_name[second_vm.vm_name]["tags"][naming.RUN_TAG] == second.run_id


def test_a_given_subnet_means_no_public_ip_or_vnet() -> None:
    fake = world()
    subnet = arm_id(RG, "Microsoft.Network/virtualNetworks/subnets", "corp", "build")

    _run, _, plan, _ = deployed(fake, linux_template(vmProfile={"vnetConfig": {"subnetId": subnet}}))

    types = {r["type"] for r in fake.cloud.in_group(plan.resource_group)}
    assert "Microsoft.Network/publicIPAddresses" not in types
    assert "Microsoft.Network/virtualNetworks" not in types


def test_deploying_twice_repeats_the_same_names_and_keeps_the_first_password() -> None:
    fake = world()
    run, source, plan, vm = deployed(fake, linux_template())
    password = fake.cloud.secrets[vm.admin_secret_name or ""]
    count = len(fake.cloud.resources)

    inp = DeployInput(run=run, template=linux_template(), source=source, staging=plan, wait=wait())
    again = waited(deploy_vm.run, inp, fake)

    assert again.vm == vm and again.succeeded
    assert fake.cloud.secrets[vm.admin_secret_name or ""] == password
    assert len(fake.cloud.resources) == count


def test_a_failed_deployment_is_a_phase_error_with_azures_code() -> None:
    fake = world()
    run = run_ref()
    template = linux_template()
    source = resolved(fake, template, run)
    plan = StagingPlan(resource_group="stage", create=True, storage_account="x")
    fake.resource_groups.create(name="stage", location="westus2", tags={})
    fake.cloud.failing_deployments[BuildVmNames.for_run(run.run_id).deployment] = ErrorInfo(
        code="SkuNotAvailable", message="Standard_D2ds_v4 is not available in westus2"
    )

    inp = DeployInput(run=run, template=template, source=source, staging=plan, wait=wait())
    out = waited(deploy_vm.run, inp, fake)

    assert out.vm is not None and not out.succeeded and out.error is not None
    assert out.error.code == "SkuNotAvailable" and out.error.phase == "deploy"
    assert "not available" in out.error.message
