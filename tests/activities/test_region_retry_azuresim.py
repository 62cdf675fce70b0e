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


def _generalized_build_vm(
    sim: AzureSim, call: Call, template: dict[str, Any], name: str = "retry"
) -> tuple[dict[str, Any], ...]:
    """Phases 1-4 and 8 through the activities: a generalized build VM in the staging group."""
    run = {
        "subscription_id": SUBSCRIPTION,
        "resource_group": RG,
        "template_name": name,
        "run_id": naming.run_id(SUBSCRIPTION, RG, name, 1),
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


def _gallery_build(
    sim: AzureSim, azurite: Azurite, name: str
) -> tuple[Call, str, dict[str, Any], tuple[dict[str, Any], ...]]:
    """A gallery definition, a template distributing to it (westus2 and eastus) and its generalized build VM:
    (the activities, the version id, the target, (run, source, vm))."""
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
        resource_group=RG, gallery="gal", name=name, spec=spec
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
    built = _generalized_build_vm(sim, call, template, name)
    target = {"index": 0, "type": "SharedImage", "run_output_name": "sig", "spec": distributor}
    return call, version_id, target, built


def _fail_once(sim: AzureSim, version_id: str, region: str) -> None:
    path = f"{re.escape(version_id)}/_replication/{region}$"
    rule = {"method": "PUT", "path": path, "status": 500, "times": 1}
    sim.control("POST", "/_sim/faults", rule)


def test_a_region_failed_once_completes_when_asked_again(sim: AzureSim, azurite: Azurite) -> None:
    call, version_id, target, (run, source, vm) = _gallery_build(sim, azurite, "retry")
    _fail_once(sim, version_id, "eastus")

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


def test_a_captured_version_replicates_and_is_asked_again_after_its_build_vm_is_deleted(
    sim: AzureSim, azurite: Azurite
) -> None:
    call, version_id, target, (run, source, vm) = _gallery_build(sim, azurite, "early")
    # The capture (0.2 s) comes first; eastus then replicates for 2 s and fails once.
    ops = {"gallery.capture": 20.0, "gallery.replicate": 200.0}
    sim.control("PUT", "/_sim/latency", {"scale": 0.01, "ops": ops})
    _fail_once(sim, version_id, "eastus")
    try:
        inp = {"run": run, "vm": vm, "source": source, "target": target, "wait": _wait()}
        inp["until_captured"] = True
        captured = call("distribute", inp)
        states = {r["region"]: r["state"] for r in captured["regions"]}
        assert captured["captured"] and not captured["done"], captured
        assert states == {"westus2": "Completed", "eastus": "Replicating"}

        deleted = _until_done(call, "delete_build_vm", {"run": run, "vm": vm, "wait": _wait()})
        assert deleted["succeeded"] or deleted["error"] is None, deleted
        later = {**inp, "started": captured["started"], "until_captured": False}
        failed = _until_done(call, "distribute", later)
        again = {**later, "retry_regions": ["eastus"], "retried": ["eastus"]}
        whole = _until_done(call, "distribute", again)
    finally:
        sim.control("PUT", "/_sim/latency", {"scale": 0.0})

    assert {r["region"]: r["state"] for r in failed["regions"]}["eastus"] == "Failed"
    # Asked again with its source VM gone: the version holds its own copy since the capture.
    assert whole["succeeded"], whole
    assert whole["result"]["regions"] == {"westus2": "Completed", "eastus": "Completed"}
    lives = sim.control("GET", f"/_sim/lifetimes?contains={vm['vm_name'].lower()}")["lifetimes"]
    vm_life = next(x for x in lives if x["id"].lower().endswith(f"/virtualmachines/{vm['vm_name'].lower()}"))
    assert vm_life["gone"] is not None
