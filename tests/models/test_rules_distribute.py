"""Contract §5–§7 and §9 rules (distribute, vmProfile, other properties): a valid and an invalid case each."""

from __future__ import annotations

import pytest

from tests.models.builders import (
    GALLERY_IMAGE,
    IDENTITY,
    RG,
    VNET,
)
from tests.models.helpers import Mutation, assert_rule
from tests.models.mutations import MI, SIG, distribute, drop, set_in, vnet

# (rule, valid mutation, invalid mutation, expected (code, target) of the invalid one)
RULES: list[tuple[str, Mutation, Mutation, tuple[str, str]]] = [
    (
        "distribute required",
        set_in("tags", value={}),
        drop("properties", "distribute"),
        ("RequiredField", "properties.distribute"),
    ),
    (
        "runOutputName required",
        distribute(MI),
        distribute({k: v for k, v in MI.items() if k != "runOutputName"}),
        ("RequiredField", "properties.distribute[0].runOutputName"),
    ),
    (
        "runOutputName pattern",
        distribute({**MI, "runOutputName": "a.b-c_d"}),
        distribute({**MI, "runOutputName": "a b"}),
        ("InvalidValue", "properties.distribute[0].runOutputName"),
    ),
    (
        "runOutputName unique",
        distribute(MI, {**SIG, "runOutputName": "other"}),
        distribute(MI, {**SIG, "runOutputName": "MI"}),
        ("InvalidValue", "properties.distribute[1].runOutputName"),
    ),
    (
        "managed image distribute needs location",
        distribute(MI),
        distribute({k: v for k, v in MI.items() if k != "location"}),
        ("RequiredField", "properties.distribute[0].location"),
    ),
    (
        "gallery id typo 'gallery'",
        distribute(SIG),
        distribute({**SIG, "galleryImageId": GALLERY_IMAGE.replace("galleries", "gallery")}),
        ("InvalidResourceId", "properties.distribute[0].galleryImageId"),
    ),
    (
        "explicit gallery version is x.y.z",
        distribute({**SIG, "galleryImageId": GALLERY_IMAGE + "/versions/1.2.3"}),
        distribute({**SIG, "galleryImageId": GALLERY_IMAGE + "/versions/latest"}),
        ("InvalidResourceId", "properties.distribute[0].galleryImageId"),
    ),
    (
        "targetRegions xor replicationRegions",
        distribute({**SIG, "replicationRegions": ["eastus"]}),
        distribute({**SIG, "replicationRegions": ["eastus"], "targetRegions": [{"name": "eastus"}]}),
        ("MutuallyExclusive", "properties.distribute[0].replicationRegions"),
    ),
    (
        "storageAccountType only with replicationRegions",
        distribute({**SIG, "replicationRegions": ["eastus"], "storageAccountType": "Standard_ZRS"}),
        distribute({**SIG, "targetRegions": [{"name": "eastus"}], "storageAccountType": "Standard_ZRS"}),
        ("MutuallyExclusive", "properties.distribute[0].storageAccountType"),
    ),
    (
        "target region name required",
        distribute({**SIG, "targetRegions": [{"name": "eastus"}]}),
        distribute({**SIG, "targetRegions": [{"replicaCount": 1}]}),
        ("RequiredField", "properties.distribute[0].targetRegions[0].name"),
    ),
    (
        "target regions unique",
        distribute({**SIG, "targetRegions": [{"name": "eastus"}, {"name": "westus"}]}),
        distribute({**SIG, "targetRegions": [{"name": "eastus"}, {"name": "East US"}]}),
        ("InvalidValue", "properties.distribute[0].targetRegions[1].name"),
    ),
    (
        "replicaCount >= 1",
        distribute({**SIG, "targetRegions": [{"name": "eastus", "replicaCount": 1}]}),
        distribute({**SIG, "targetRegions": [{"name": "eastus", "replicaCount": 0}]}),
        ("OutOfRange", "properties.distribute[0].targetRegions[0].replicaCount"),
    ),
    (
        "storageAccountType enum",
        distribute({**SIG, "targetRegions": [{"name": "eastus", "storageAccountType": "Premium_LRS"}]}),
        distribute({**SIG, "targetRegions": [{"name": "eastus", "storageAccountType": "Premium_ZRS"}]}),
        ("InvalidValue", "properties.distribute[0].targetRegions[0].storageAccountType"),
    ),
    (
        "versioning scheme required",
        distribute({**SIG, "versioning": {"scheme": "Source"}}),
        distribute({**SIG, "versioning": {"major": 1}}),
        ("RequiredField", "properties.distribute[0].versioning.scheme"),
    ),
    (
        "versioning major >= -1",
        distribute({**SIG, "versioning": {"scheme": "Latest", "major": -1}}),
        distribute({**SIG, "versioning": {"scheme": "Latest", "major": -2}}),
        ("OutOfRange", "properties.distribute[0].versioning.major"),
    ),
    (
        "replicationMode enum",
        distribute({**SIG, "replicationMode": "Full"}),
        distribute({**SIG, "replicationMode": "Deep"}),
        ("InvalidValue", "properties.distribute[0].replicationMode"),
    ),
    (
        "distribution region well-formed",
        distribute({**MI, "location": "Brazil Southeast"}),
        distribute({**MI, "location": "1_location"}),
        ("InvalidValue", "properties.distribute[0].location"),
    ),
    (
        "VHD uri is a URI",
        distribute({"type": "VHD", "runOutputName": "v", "uri": "https://a.blob.core.windows.net/c/x.vhd"}),
        distribute({"type": "VHD", "runOutputName": "v", "uri": "x.vhd"}),
        ("InvalidValue", "properties.distribute[0].uri"),
    ),
    (
        "VHD uri uses https",
        distribute({"type": "VHD", "runOutputName": "v", "uri": "https://a.blob.core.windows.net/c/x.vhd"}),
        distribute({"type": "VHD", "runOutputName": "v", "uri": "http://a.blob.core.windows.net/c/x.vhd"}),
        ("InsecureUri", "properties.distribute[0].uri"),
    ),
    (
        "distribute type known",
        distribute(MI),
        distribute({**MI, "type": "Blob"}),
        ("InvalidValue", "properties.distribute[0].type"),
    ),
    (
        "buildTimeout >= 6",
        set_in("properties", "buildTimeoutInMinutes", value=6),
        set_in("properties", "buildTimeoutInMinutes", value=5),
        ("OutOfRange", "properties.buildTimeoutInMinutes"),
    ),
    (
        "buildTimeout <= 960",
        set_in("properties", "buildTimeoutInMinutes", value=960),
        set_in("properties", "buildTimeoutInMinutes", value=961),
        ("OutOfRange", "properties.buildTimeoutInMinutes"),
    ),
    (
        "buildTimeout is an integer",
        set_in("properties", "buildTimeoutInMinutes", value=60),
        set_in("properties", "buildTimeoutInMinutes", value="60"),
        ("InvalidType", "properties.buildTimeoutInMinutes"),
    ),
    (
        "osDiskSizeGB >= 0",
        set_in("properties", "vmProfile", value={"osDiskSizeGB": 0}),
        set_in("properties", "vmProfile", value={"osDiskSizeGB": -1}),
        ("OutOfRange", "properties.vmProfile.osDiskSizeGB"),
    ),
    (
        "sizeGB >= 0",
        set_in("properties", "additionalDataDisks", value=[{"sizeGB": 0}]),
        set_in("properties", "additionalDataDisks", value=[{"sizeGB": -5}]),
        ("OutOfRange", "properties.additionalDataDisks[0].sizeGB"),
    ),
    (
        "vmSize shape",
        set_in("properties", "vmProfile", value={"vmSize": "Standard_B2s"}),
        set_in("properties", "vmProfile", value={"vmSize": "Standard B2s"}),
        ("InvalidValue", "properties.vmProfile.vmSize"),
    ),
    (
        "build VM identities are identity ids",
        set_in("properties", "vmProfile", value={"userAssignedIdentities": [IDENTITY]}),
        set_in("properties", "vmProfile", value={"userAssignedIdentities": ["aib-identity"]}),
        ("InvalidResourceId", "properties.vmProfile.userAssignedIdentities[0]"),
    ),
    (
        "subnetId is a subnet id",
        vnet(subnetId=f"{VNET}/subnets/a"),
        vnet(subnetId=VNET),
        ("InvalidResourceId", "properties.vmProfile.vnetConfig.subnetId"),
    ),
    (
        "ACI subnet needs subnetId",
        vnet(subnetId=f"{VNET}/subnets/a", containerInstanceSubnetId=f"{VNET}/subnets/b"),
        vnet(containerInstanceSubnetId=f"{VNET}/subnets/b"),
        ("RequiredField", "properties.vmProfile.vnetConfig.containerInstanceSubnetId"),
    ),
    (
        "ACI subnet in the same VNet",
        vnet(subnetId=f"{VNET}/subnets/a", containerInstanceSubnetId=f"{VNET}/subnets/b"),
        vnet(subnetId=f"{VNET}/subnets/a", containerInstanceSubnetId=f"{VNET}2/subnets/b"),
        ("InvalidValue", "properties.vmProfile.vnetConfig.containerInstanceSubnetId"),
    ),
    (
        "ACI subnet differs from the build subnet",
        vnet(subnetId=f"{VNET}/subnets/a", containerInstanceSubnetId=f"{VNET}/subnets/b"),
        vnet(subnetId=f"{VNET}/subnets/a", containerInstanceSubnetId=f"{VNET}/subnets/A"),
        ("InvalidValue", "properties.vmProfile.vnetConfig.containerInstanceSubnetId"),
    ),
    (
        "no proxyVmSize with an ACI subnet",
        vnet(subnetId=f"{VNET}/subnets/a", proxyVmSize="Standard_A2_v2"),
        vnet(
            subnetId=f"{VNET}/subnets/a",
            containerInstanceSubnetId=f"{VNET}/subnets/b",
            proxyVmSize="Standard_A2_v2",
        ),
        ("MutuallyExclusive", "properties.vmProfile.vnetConfig.proxyVmSize"),
    ),
    (
        "stagingResourceGroup is a resource group id",
        set_in("properties", "stagingResourceGroup", value=f"{RG}"),
        set_in("properties", "stagingResourceGroup", value="rg1"),
        ("InvalidResourceId", "properties.stagingResourceGroup"),
    ),
    (
        "staging group name is a valid name",
        set_in("properties", "stagingResourceGroup", value=f"{RG}-(x)"),
        set_in("properties", "stagingResourceGroup", value=f"{RG}."),
        ("InvalidResourceId", "properties.stagingResourceGroup"),
    ),
    (
        "errorHandling values",
        set_in("properties", "errorHandling", value={"onValidationError": "abort"}),
        set_in("properties", "errorHandling", value={"onValidationError": "Abort"}),
        ("InvalidValue", "properties.errorHandling.onValidationError"),
    ),
    (
        "vmBoot state",
        set_in("properties", "optimize", value={"vmBoot": {"state": "Disabled"}}),
        set_in("properties", "optimize", value={"vmBoot": {"state": "On"}}),
        ("InvalidValue", "properties.optimize.vmBoot.state"),
    ),
    (
        "autoRun state",
        set_in("properties", "autoRun", value={"state": "Enabled"}),
        set_in("properties", "autoRun", value={"state": True}),
        ("InvalidValue", "properties.autoRun.state"),
    ),
    (
        "tag names have no slash",
        set_in("tags", value={"a-b": "1"}),
        set_in("tags", value={"a/b": "1"}),
        ("InvalidValue", "tags['a/b']"),
    ),
    (
        "tag values <= 256",
        set_in("tags", value={"a": "x" * 256}),
        set_in("tags", value={"a": "x" * 257}),
        ("InvalidValue", "tags.a"),
    ),
    (
        "at most 50 tags",
        set_in("tags", value={str(i): "" for i in range(50)}),
        set_in("tags", value={str(i): "" for i in range(51)}),
        ("InvalidValue", "tags"),
    ),
    (
        "artifact tags follow the tag rules",
        distribute({**MI, "artifactTags": {"a": "b"}}),
        distribute({**MI, "artifactTags": {"a?": "b"}}),
        ("InvalidValue", "properties.distribute[0].artifactTags['a?']"),
    ),
    (
        "tags are strings",
        set_in("tags", value={"a": "1"}),
        set_in("tags", value={"a": 1}),
        ("InvalidType", "tags.a"),
    ),
    (
        "unknown fields rejected",
        set_in("tags", value={}),
        set_in("properties", "vmboot", value={}),
        ("UnknownField", "properties.vmboot"),
    ),
    (
        "field names are case-sensitive",
        set_in("properties", "vmProfile", value={"vmSize": ""}),
        set_in("properties", "vmprofile", value={"vmSize": ""}),
        ("UnknownField", "properties.vmprofile"),
    ),
]


@pytest.mark.parametrize(("rule", "valid", "invalid", "expected"), RULES, ids=[r[0] for r in RULES])
def test_rule_accepts_the_valid_case_and_reports_the_invalid_one(
    rule: str, valid: Mutation, invalid: Mutation, expected: tuple[str, str]
) -> None:
    assert_rule(valid, invalid, expected)
