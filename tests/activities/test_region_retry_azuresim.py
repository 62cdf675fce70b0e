"""A gallery region whose replication failed completes once ``distribute`` asks for it again: activities
over the real adapters, azuresim over HTTPS (a fault rule fails the region once), Azurite for blobs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared import naming
from shared.models.azure import ImageDefinitionSpec
from tests.activities.support import linux_template
from tests.activities.test_azuresim_smoke import _activity, _ports, _put, _until_done, _wait
from tests.fakes import SUBSCRIPTION, arm_id
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(240)
RG = "retry-rg"
Call = Callable[[str, dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="module")
def sim(azurite: Azurite) -> Iterator[AzureSim]:
    started = start_azuresim(storage_connection_string=azurite.connection_string)
    try:
        yield started
    finally:
        started.stop()


def _generalized_build_vm(sim: AzureSim, call: Call, template: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Phases 1-4 and 8 through the activities: a generalized build VM in the staging group."""
    run = {
        "subscription_id": SUBSCRIPTION,
        "resource_group": RG,
        "template_name": "retry",
        "run_id": naming.run_id(SUBSCRIPTION, RG, "retry", 1),
        "location": "westus2",
    }
    source = call("resolve_source", {"run": run, "template": template})["source"]
    checked = call("preflight", {"run": run, "template": template, "source": source})
    assert checked["error"] is None, checked["error"]
    staging = checked["staging"]
    assert call("prepare_staging_group", {"run": run, "template": template, "plan": staging})["error"] is None
    deploy = {"run": run, "template": template, "source": source, "staging": staging, "wait": _wait()}
    deployed = _until_done(call, "deploy_build_vm", deploy)
    assert deployed["succeeded"], deployed["error"]
    vm = deployed["vm"]
    assert _until_done(call, "generalize_vm", {"run": run, "vm": vm, "wait": _wait()})["error"] is None
    return run, source, vm


def test_a_region_failed_once_completes_when_asked_again(sim: AzureSim, azurite: Azurite) -> None:
    ports = _ports(sim, azurite)
    call = _activity(ports)
    ports.resource_groups.create(name=RG, location="westus2", tags={})
    identity = arm_id(RG, "Microsoft.ManagedIdentity/userAssignedIdentities", "aib")
    _put(sim, f"{identity}?api-version=2023-01-31", {"location": "westus2"})
    sim.grant(identity, "Contributor", f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}")
    ports.galleries.create_gallery(resource_group=RG, name="gal", location="westus2", tags={})
    spec = ImageDefinitionSpec(
        location="westus2",
        os_type="Linux",
        hyper_v_generation="V2",
        publisher="kiln",
        offer="ubuntu",
        sku="1",
        features={"SecurityType": "TrustedLaunchSupported"},
    )
    definition = ports.galleries.create_image_definition(
        resource_group=RG, gallery="gal", name="ubuntu", spec=spec
    )
    version_id = f"{definition.id}/versions/1.0.0"
    distributor = {
        "type": "SharedImage",
        "galleryImageId": version_id,
        "runOutputName": "sig",
        "replicationRegions": ["westus2", "eastus"],
    }
    template = linux_template(distribute=[distributor])
    template["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {identity: {}}}
    run, source, vm = _generalized_build_vm(sim, call, template)
    rule = {
        "method": "PUT",
        "path": f"{re.escape(version_id)}/_replication/eastus$",
        "status": 500,
        "times": 1,
    }
    sim.control("POST", "/_sim/faults", rule)
    target = {"index": 0, "type": "SharedImage", "run_output_name": "sig", "spec": distributor}

    inp = {"run": run, "vm": vm, "source": source, "target": target, "wait": _wait()}
    # The first answer ends the wait: a region failed that was not asked again yet (here the version's
    # replication has ended Failed; the orchestration asks again before it takes that as the result).
    failed = _until_done(call, "distribute", inp)
    regions = {r["region"]: r["state"] for r in failed["regions"]}
    again = {**inp, "started": failed["started"], "retry_regions": ["eastus"], "retried": ["eastus"]}
    whole = _until_done(call, "distribute", again)

    assert regions["eastus"] == "Failed" and not failed["succeeded"]
    assert whole["succeeded"] and whole["result"]["succeeded"], whole["result"]
    assert whole["result"]["regions"] == {"westus2": "Completed", "eastus": "Completed"}
