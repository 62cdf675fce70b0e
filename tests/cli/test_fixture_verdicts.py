"""Every real AIB template in the shared fixtures gets acceptance or its precise expected error.

The verdicts below were checked by hand against ``aib-contract.md``: the quickstarts are blocked by their
``<placeholder>`` tokens and ARM expressions (reported where they stand), the raw quickstart bodies also carry
ARM deployment-template fields (``apiVersion``, ``dependsOn``) and sometimes the 2019 provider-only ``type``,
the official REST examples carry ``{subscription-id}`` and the typos the fixtures README lists. With realistic
``--param`` values the ARM quickstarts become valid and only the real problems remain.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.validate import FileResult, check_file

Pairs = set[tuple[str, str]]
Expected = (
    dict[str, Pairs] | str
)  # path in the file -> (code, target) pairs (empty: valid); or a file error code

REST = (
    "Azure_azure-rest-api-specs/specification__imagebuilder__resource-manager__Microsoft.VirtualMachineImages"
    "__ImageBuilder__stable__2025-10-01__examples__"
)
QS = "Azure_azvmimagebuilder/quickquickstarts__"
OLD = "Azure_azvmimagebuilder/deprecated__quickquickstarts__"
SOL = "Azure_azvmimagebuilder/solutions__"
WIN_FROM_SIG = (
    "Creating_a_Custom_Win_Shared_Image_Gallery_Image_from_SIG__helloImageTemplateforSIGfromWinSIG.json"
)
BASELINE = "Azure_azure-quickstart-templates/demos__imagebuilder-windowsbaseline__azuredeploy.json"


def ph(*targets: str) -> Pairs:
    return {("UnresolvedPlaceholder", t) for t in targets}


# A raw body copied from an ARM resource entry: fields that only a deployment template has.
RAW = {("LegacyField", "apiVersion"), ("UnknownField", "dependsOn")}
PROVIDER_TYPE = {("LegacyField", "type")}  # "type": "Microsoft.VirtualMachineImages"
NO_IDENTITY = {("RequiredField", "identity")}
D0 = "properties.distribute[0]"
TEMPLATE_ID = ph("location", "identity.userAssignedIdentities['<imgBuilderId>']")
ARM_TEMPLATE_ID = TEMPLATE_ID  # location is "[parameters('svclocation')]", reported at the same target
MANAGED = ph(f"{D0}.imageId", f"{D0}.location", f"{D0}.runOutputName")
SIG = ph(
    f"{D0}.galleryImageId",
    f"{D0}.runOutputName",
    f"{D0}.replicationRegions[0]",
    f"{D0}.replicationRegions[1]",
)
SUBNET = ph("properties.vmProfile.vnetConfig.subnetId")
SIG_SOURCE = ph("properties.source.imageVersionId")
MANAGED_SOURCE = ph("properties.source.imageId")
REST_MANAGED = {("InvalidValue", f"{D0}.location")} | ph(f"{D0}.imageId")  # "1_location", {subscription-id}

EXPECTED: dict[str, Expected] = {
    BASELINE: {
        "resources[5]": {("RequiredField", "properties.distribute")}
        | ph(
            "location",
            "identity.userAssignedIdentities['[resourceId(\\'Microsoft.ManagedIdentity/userAssignedIdentities\\',"
            " parameters(\\'templateIdentityName\\'))]']",
            "properties.customize[1].scriptUri",
        )
    },
    REST + "CreateImageTemplateLinux.json": {
        "parameters.parameters": REST_MANAGED | ph("properties.vmProfile.vnetConfig.subnetId")
    },
    REST + "CreateImageTemplateWindows.json": {
        "parameters.parameters": REST_MANAGED | ph("properties.vmProfile.vnetConfig.subnetId")
    },
    REST + "CreateSourceImageTrigger.json": {"parameters.parameters": set()},
    REST + "GetImageTemplate.json": {"responses.200.body": REST_MANAGED | MANAGED_SOURCE},
    REST + "ListImageTemplatesByRg.json": {
        "responses.200.body.value[0]": REST_MANAGED | MANAGED_SOURCE,
        # ".../Microsoft.Compute/gallery/..." is the example's typo for "galleries"
        "responses.200.body.value[1]": ph(f"{D0}.imageId", "properties.distribute[1].galleryImageId")
        | {("InvalidResourceId", "properties.distribute[1].galleryImageId")},
    },
    REST + "ListRunOutputs.json": "NoTemplateFound",
    REST + "UpdateImageTemplateVmProfile.json": {
        "parameters.parameters": ph(
            "properties.vmProfile.vmSize",
            "properties.vmProfile.vnetConfig.containerInstanceSubnetId",
            "properties.vmProfile.vnetConfig.subnetId",
        )
    },
    OLD + "0_Creating_a_Custom_Linux_Managed_Image__helloImageTemplateLinux.json": {
        "": RAW | TEMPLATE_ID | MANAGED
    },
    OLD + "0_Creating_a_Custom_Windows_Managed_Image__helloImageTemplateWin.json": {
        "": RAW | TEMPLATE_ID | MANAGED
    },
    OLD + "0_Creating_a_Custom_Windows_Managed_Image__helloImageTemplateWin01.json": {
        "resources[0]": ARM_TEMPLATE_ID | MANAGED
    },
    OLD + "1_Creating_a_Custom_Linux_Shared_Image_Gallery_Image__helloImageTemplateforSIG.json": {
        "": RAW | PROVIDER_TYPE | TEMPLATE_ID | SIG
    },
    OLD + "1_Creating_a_Custom_Win_Shared_Image_Gallery_Image__armTemplateWinSIG.json": {
        "resources[0]": ARM_TEMPLATE_ID | SIG
    },
    OLD + "1a_Creating_a_Custom_Linux_Image_on_Existing_VNET__existingVNETLinux.json": {
        "": RAW | TEMPLATE_ID | MANAGED | SUBNET
    },
    OLD + "1a_Creating_a_Custom_Win_Image_on_Existing_VNET__existingVNETWindows.json": {
        "resources[0]": ARM_TEMPLATE_ID | MANAGED | SUBNET
    },
    OLD
    + "1b_Creating_a_Custom_Win_Image_on_Existing_VNET_Access_Storage__existingVNETWindowsAccessStor.json": {
        "resources[0]": ARM_TEMPLATE_ID | MANAGED | SUBNET | ph("properties.customize[0].scriptUri")
    },
    OLD
    + "2_Creating_a_Custom_Linux_Shared_Image_Gallery_Image_from_SIG__helloImageTemplateforSIGfromSIG.json": {
        "": RAW | PROVIDER_TYPE | TEMPLATE_ID | SIG | SIG_SOURCE
    },
    OLD + "2_" + WIN_FROM_SIG: {"resources[0]": ARM_TEMPLATE_ID | SIG | SIG_SOURCE},
    OLD + "3_Customize_a_Managed_Image_and_Import_into_SIG__helloImageTemplateforReCustomization.json": {
        "": RAW | PROVIDER_TYPE | TEMPLATE_ID | SIG | MANAGED_SOURCE
    },
    OLD + "4_Creating_a_Custom_Linux_Image_to_VHD__helloImageTemplateVHD.json": {
        "": RAW | PROVIDER_TYPE | NO_IDENTITY | ph("location", f"{D0}.runOutputName")
    },
    OLD + "7_Creating_Custom_Image_using_MSI_to_Access_Storage__helloImageTemplateMsi.json": {
        "": RAW | TEMPLATE_ID | SIG | ph("properties.customize[0].scriptUri")
    },
    OLD + "9_Updating_Image_Builder_Templates__helloImageTemplateVersion.json": {
        "": RAW | NO_IDENTITY | ph("location") | MANAGED
    },
    QS + "0_Creating_a_Custom_Linux_Managed_Image__helloImageTemplateLinux.json": {
        "": RAW | TEMPLATE_ID | MANAGED
    },
    QS + "0_Creating_a_Custom_Windows_Managed_Image__helloImageTemplateWin.json": {
        "": RAW | TEMPLATE_ID | MANAGED
    },
    QS + "1_Creating_a_Custom_Linux_Shared_Image_Gallery_Image__helloImageTemplateforSIG.json": {
        "": RAW | PROVIDER_TYPE | TEMPLATE_ID | SIG
    },
    QS + "1_Creating_a_Custom_Win_Shared_Image_Gallery_Image__armTemplateWinSIG.json": {
        "resources[0]": ARM_TEMPLATE_ID | SIG
    },
    QS + "1a_Creating_a_Custom_Linux_Image_on_Existing_VNET__existingVNETLinux.json": {
        "": RAW | TEMPLATE_ID | MANAGED | SUBNET
    },
    QS + "1a_Creating_a_Custom_Win_Image_on_Existing_VNET__existingVNETWindows.json": {
        "resources[0]": ARM_TEMPLATE_ID | MANAGED | SUBNET
    },
    QS
    + "2_Creating_a_Custom_Linux_Shared_Image_Gallery_Image_from_SIG__helloImageTemplateforSIGfromSIG.json": {
        "": RAW | PROVIDER_TYPE | TEMPLATE_ID | SIG | SIG_SOURCE
    },
    QS + "2_" + WIN_FROM_SIG: {"resources[0]": ARM_TEMPLATE_ID | SIG | SIG_SOURCE},
    QS + "3_Customize_a_Managed_Image_and_Import_into_SIG__helloImageTemplateforReCustomization.json": {
        "": RAW | PROVIDER_TYPE | TEMPLATE_ID | SIG | MANAGED_SOURCE
    },
    QS + "4_Creating_a_Custom_Linux_Image_to_VHD__helloImageTemplateVHD.json": {
        "": RAW | PROVIDER_TYPE | NO_IDENTITY | ph("location", f"{D0}.runOutputName")
    },
    QS + "7_Creating_Custom_Image_using_MSI_to_Access_Storage__helloImageTemplateMsi.json": {
        "": RAW | TEMPLATE_ID | SIG | ph("properties.customize[0].scriptUri")
    },
    QS
    + "8_Creating_a_Custom_Linux_Shared_Image_Gallery_Image_from_SIG__helloImageTemplateforSIGfromSIG.json": {
        "": RAW | PROVIDER_TYPE | TEMPLATE_ID | SIG | SIG_SOURCE
    },
    QS + "8_" + WIN_FROM_SIG: {"resources[0]": ARM_TEMPLATE_ID | SIG | SIG_SOURCE},
    QS + "9_Setting_up_a_Trigger_with_a_Custom_Linux_Image__helloImageTemplate.json": {
        # a GET output pasted back: apiVersion 2022-07-01 in the body, read-only exactVersion (dropped)
        "": {("LegacyField", "apiVersion")}
        | TEMPLATE_ID
        | ph(
            f"{D0}.galleryImageId",
            f"{D0}.runOutputName",
            f"{D0}.targetRegions[0].name",
            f"{D0}.targetRegions[1].name",
        )
    },
    # the how-to's trigger.json carries the template's location; a trigger body has only properties.kind
    QS + "9_Setting_up_a_Trigger_with_a_Custom_Linux_Image__trigger.json": {
        "": {("UnknownField", "location")}
    },
    SOL + "14_Building_Images_WVD__armTemplateWVD.json": {
        "resources[0]": ARM_TEMPLATE_ID
        | ph(f"{D0}.galleryImageId", f"{D0}.runOutputName", f"{D0}.replicationRegions[0]")
    },
    SOL + "4_Using_ENV_Variables__devOpsEnvTemplate.json": {
        "resources[0]": NO_IDENTITY
        | {("UnknownField", f"{D0}.aritfactTags")}  # the template's typo for artifactTags
        | ph(
            "location",
            "properties.customize[0].inline[0]",  # "[concat('Target_OS=', parameters('targetOS'))]"
            "properties.customize[1].inline[0]",
            f"{D0}.imageId",  # variables('resourceid') is a concat(): never evaluated
            f"{D0}.location",
            f"{D0}.runOutputName",
        )
    },
}

SUB = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
PARAMS = {
    "region": "westus2",
    "region1": "westus2",
    "region2": "eastus",
    "svclocation": "westus2",
    "imgBuilderId": f"/subscriptions/{SUB}/resourceGroups/rg-aib/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities/aibIdentity",
    "subscriptionID": SUB,
    "rgName": "rg-aib",
    "vnetRgName": "rg-network",
    "vnetName": "vnet-aib",
    "subnetName": "snet-build",
    "imageName": "img-custom",
    "srcImageName": "img-source",
    "sharedImageGalName": "galAib",
    "acgName": "galAib",
    "imageDefName": "def-custom",
    "runOutputName": "aib-output",
    "sigDefImgVersionId": f"/subscriptions/{SUB}/resourceGroups/rg-aib/providers/Microsoft.Compute/galleries/"
    "galAib/images/def-base/versions/latest",
    "scriptUrl": "https://example.com/scripts/customize.sh",
    "scriptFileUrl": "https://example.com/scripts/customize.ps1",
    "imageTemplateName": "aib-template",
    "api-version": "2022-07-01",
    "svcLocation": "westus2",
    "location": "westus2",  # overrides the baseline's defaultValue "[resourceGroup().location]"
    "managedImageName": "img-devops",  # the template references it as parameters('managedimagename')
    "resourceid": f"/subscriptions/{SUB}/resourceGroups/rg-aib/providers/Microsoft.Compute/images/img-devops",
}

# With PARAMS: the ARM quickstarts are valid (at their api-version parameter 2022-07-01); raw bodies keep
# only their wrapper problems; what no --param can fix stays.
WITH_PARAMS: dict[str, dict[str, Pairs]] = {
    OLD + "0_Creating_a_Custom_Windows_Managed_Image__helloImageTemplateWin01.json": {"resources[0]": set()},
    QS + "1_Creating_a_Custom_Win_Shared_Image_Gallery_Image__armTemplateWinSIG.json": {
        "resources[0]": set()
    },
    QS + "1a_Creating_a_Custom_Win_Image_on_Existing_VNET__existingVNETWindows.json": {"resources[0]": set()},
    OLD
    + "1b_Creating_a_Custom_Win_Image_on_Existing_VNET_Access_Storage__existingVNETWindowsAccessStor.json": {
        "resources[0]": set()
    },
    QS + "8_" + WIN_FROM_SIG: {"resources[0]": set()},
    SOL + "14_Building_Images_WVD__armTemplateWVD.json": {"resources[0]": set()},
    QS + "0_Creating_a_Custom_Linux_Managed_Image__helloImageTemplateLinux.json": {"": RAW},
    QS + "1_Creating_a_Custom_Linux_Shared_Image_Gallery_Image__helloImageTemplateforSIG.json": {
        "": RAW | PROVIDER_TYPE
    },
    QS + "4_Creating_a_Custom_Linux_Image_to_VHD__helloImageTemplateVHD.json": {
        "": RAW | PROVIDER_TYPE | NO_IDENTITY
    },
    QS + "9_Setting_up_a_Trigger_with_a_Custom_Linux_Image__helloImageTemplate.json": {
        "": {("LegacyField", "apiVersion")}
    },
    SOL + "4_Using_ENV_Variables__devOpsEnvTemplate.json": {
        "resources[0]": NO_IDENTITY
        | {("UnknownField", f"{D0}.aritfactTags")}
        | ph("properties.customize[0].inline[0]", "properties.customize[1].inline[0]")
    },
    BASELINE: {
        "resources[5]": {("RequiredField", "properties.distribute")}
        | ph(
            "identity.userAssignedIdentities['[resourceId(\\'Microsoft.ManagedIdentity/userAssignedIdentities\\',"
            " parameters(\\'templateIdentityName\\'))]']",
            "properties.customize[1].scriptUri",
        )
    },
}


def verdicts(result: FileResult) -> Expected:
    if result.error is not None:
        return result.error.code
    return {
        v.found.path: {(d.code, d.target or "") for d in (v.error.details if v.error else [])}
        for v in result.verdicts
    }


def fixture_files(directory: Path) -> list[str]:
    return sorted(
        str(p.relative_to(directory)) for p in directory.rglob("*.json") if not p.parts[-2].startswith("_")
    )


def test_the_table_covers_every_fixture_file_and_nothing_else(fixtures_dir: Path) -> None:
    assert fixture_files(fixtures_dir) == sorted(EXPECTED)
    assert set(WITH_PARAMS) <= set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda n: n.rsplit("__", 1)[-1])
def test_each_fixture_gets_its_expected_verdict(name: str, fixtures_dir: Path) -> None:
    result = check_file(str(fixtures_dir / name), params={}, api_version=None)
    assert verdicts(result) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(WITH_PARAMS), ids=lambda n: n.rsplit("__", 1)[-1])
def test_with_params_only_the_problems_no_param_can_fix_remain(name: str, fixtures_dir: Path) -> None:
    result = check_file(str(fixtures_dir / name), params=PARAMS, api_version=None)
    assert verdicts(result) == WITH_PARAMS[name]
