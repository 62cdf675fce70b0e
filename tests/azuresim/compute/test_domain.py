"""Domain logic of the compute providers, without HTTP: catalog, outcome rules, replication progress."""

from __future__ import annotations

import pytest

from azuresim.providers.marketplace_catalog import Catalog, image_properties, version_key
from azuresim.providers.replication import ReplicationPlan, replication_status, target_region_names
from azuresim.providers.runcommand_outcomes import match_outcome, validate_rules


def test_versions_sort_numerically_and_top_limits_after_ordering() -> None:
    catalog = Catalog()
    catalog.publish(
        {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "24.04.202501010"}
    )
    newest = catalog.versions("canonical", "UBUNTU-24_04-LTS", "server", top=2, descending=True)
    assert newest == ["24.04.202501010", "24.04.202411030"]
    assert version_key("2.10.0") > version_key("2.9.0")


def test_trusted_launch_sku_carries_security_type_and_gen2() -> None:
    sku = Catalog().find("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter-azure-edition")
    assert sku is not None
    props = image_properties(sku)
    assert props["hyperVGeneration"] == "V2"
    assert {"name": "SecurityType", "value": "TrustedLaunchSupported"} in props["features"]
    assert props["osDiskImage"]["operatingSystem"] == "Windows"
    assert "plan" not in props


def test_byos_rhel_has_a_purchase_plan_and_gen1_has_no_security_type() -> None:
    catalog = Catalog()
    byos = catalog.find("RedHat", "RHEL-byos", "rhel-lvm9")
    gen1 = catalog.find("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter")
    assert byos is not None and gen1 is not None
    assert image_properties(byos)["plan"] == {
        "name": "rhel-lvm9",
        "publisher": "redhat",
        "product": "rhel-byos",
    }
    assert image_properties(gen1)["hyperVGeneration"] == "V1"
    assert all(f["name"] != "SecurityType" for f in image_properties(gen1)["features"])


def test_publishing_an_unknown_sku_creates_it_with_the_given_properties() -> None:
    catalog = Catalog()
    catalog.publish(
        {"publisher": "Contoso", "offer": "o", "sku": "s", "version": "1.0.0", "hyperVGeneration": "V1"}
    )
    sku = catalog.find("contoso", "O", "S")
    assert sku is not None and sku.generation == "V1" and sku.versions == ("1.0.0",)
    assert "Contoso" in catalog.publishers()


def test_first_matching_rule_decides_exit_code_and_output() -> None:
    rules = validate_rules(
        [
            {
                "pattern": r"apt-get install nope",
                "exitCode": 100,
                "stderr": "E: Unable to locate package nope",
            },
            {"pattern": r"apt-get", "exitCode": 0, "stdout": "done"},
        ]
    )
    out = match_outcome(rules, "set -e\napt-get install nope\n")
    assert (out.exit_code, out.stderr, out.succeeded) == (100, "E: Unable to locate package nope", False)
    assert match_outcome(rules, "apt-get update").stdout == "done"


def test_unmatched_script_succeeds_and_prints_its_echo_lines() -> None:
    out = match_outcome([], "echo 'hello world'\nWrite-Host building\nls /\n")
    assert out.exit_code == 0
    assert out.stdout == "hello world\nbuilding\n"


@pytest.mark.parametrize(
    "script", ["shutdown /r /t 0", "Restart-Computer -Force", "sudo reboot", "systemctl reboot"]
)
def test_restart_scripts_are_recognised(script: str) -> None:
    assert match_outcome([], script).restart


def test_invalid_rules_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"rules\[0\]\.pattern"):
        validate_rules([{"pattern": "("}])
    with pytest.raises(ValueError, match=r"rules\[1\]\.exitCode"):
        validate_rules([{"pattern": "a"}, {"pattern": "b", "exitCode": "x"}])


def test_the_capture_comes_first_then_the_other_regions_replicate_in_parallel() -> None:
    plan = ReplicationPlan(
        started=100.0,
        seconds_per_region=10.0,
        regions=["eastus", "westus", "northeurope"],
        capture_seconds=4.0,
    )
    capturing = replication_status(plan, 102.0)
    assert capturing["aggregatedState"] == "InProgress"
    assert [(s["state"], s["progress"]) for s in capturing["summary"]] == [
        ("Replicating", 50),
        ("Replicating", 0),
        ("Replicating", 0),
    ]
    assert plan.captured_at() == 104.0
    replicating = replication_status(plan, 109.0)
    assert [(s["state"], s["progress"]) for s in replicating["summary"]] == [
        ("Completed", 100),
        ("Replicating", 50),
        ("Replicating", 50),
    ]
    assert replication_status(plan, 114.0)["aggregatedState"] == "Completed"
    assert plan.ends_at() == 114.0
    retried = ReplicationPlan(100.0, 10.0, ["eastus", "westus"], restarted={"westus": 120.0})
    assert [s["state"] for s in replication_status(retried, 125.0)["summary"]] == ["Completed", "Replicating"]
    assert retried.ends_at() == 130.0


def test_a_region_the_latency_model_names_takes_its_own_time() -> None:
    plan = ReplicationPlan(0.0, 10.0, ["eastus", "westus", "japaneast"], region_seconds={"japaneast": 40.0})
    assert [s["state"] for s in replication_status(plan, 20.0)["summary"]] == [
        "Completed",
        "Completed",
        "Replicating",
    ]
    assert plan.ends_at() == 40.0


def test_a_failed_region_stops_halfway_and_fails_the_aggregate() -> None:
    plan = ReplicationPlan(
        started=0.0,
        seconds_per_region=10.0,
        regions=["eastus", "westus"],
        failed=["WestUS"],
        capture_seconds=10.0,
    )
    status = replication_status(plan, 100.0)
    assert status["aggregatedState"] == "Failed"
    assert status["summary"][1]["state"] == "Failed" and status["summary"][1]["progress"] == 50
    assert status["summary"][0]["state"] == "Completed"
    assert plan.ends_at() == 15.0
    assert ReplicationPlan.from_json(plan.to_json()) == plan


def test_home_region_replicates_first_and_defaults_when_no_targets() -> None:
    profile = {"targetRegions": [{"name": "westus"}, {"name": "East US"}]}
    assert target_region_names(profile, "eastus") == ["East US", "westus"]
    assert target_region_names({}, "eastus") == ["eastus"]
