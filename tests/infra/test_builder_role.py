"""The custom role holds exactly the actions kiln's code performs.

The expected set is derived, not copied: the Azure SDK calls of the adapters (each mapped to the ARM action
it needs), kept to the adapter methods the rest of the app calls, plus what the build VM's generated ARM
template makes ARM check (each resource's write and the linked join/read checks of its references).
docs/deploy.md lists the same actions, each with the code that needs it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from activities.support.deployment_template import (
    BuildVmSpec,
    ImageReference,
    KeyVaultSecretRef,
    build_vm_deployment,
)
from tests.infra.bicep import MODULES, REPO, parse, shipped_python_files, variable

BUILDER = MODULES / "builder-role.bicep"
DEPLOY_DOC = REPO / "docs" / "deploy.md"
RG = "Microsoft.Resources/subscriptions/resourceGroups"
VM = "Microsoft.Compute/virtualMachines"
VERSIONS = "Microsoft.Compute/galleries/images/versions"
GENERIC = "generic"  # resources.get_by_id / begin_delete_by_id: the types the deployment creates, and disks

# Azure SDK operation (client attribute, method) -> the ARM actions it needs.
SDK_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("resource_groups", "create_or_update"): (f"{RG}/write",),
    ("resource_groups", "get"): (f"{RG}/read",),
    ("resource_groups", "check_existence"): (f"{RG}/read",),
    ("resource_groups", "begin_delete"): (f"{RG}/delete",),
    ("resource_groups", "list"): (f"{RG}/read",),
    ("resources", "get_by_id"): (f"{GENERIC}/read",),
    ("resources", "begin_delete_by_id"): (f"{GENERIC}/delete",),
    ("resources", "list"): ("Microsoft.Resources/subscriptions/resources/read",),
    ("resources", "list_by_resource_group"): (f"{RG}/resources/read",),
    ("deployments", "begin_create_or_update"): ("Microsoft.Resources/deployments/write",),
    ("deployments", "get"): ("Microsoft.Resources/deployments/read",),
    ("deployments", "cancel"): ("Microsoft.Resources/deployments/cancel/action",),
    ("deployment_operations", "list"): ("Microsoft.Resources/deployments/operations/read",),
    ("virtual_machines", "get"): (f"{VM}/read",),
    ("virtual_machines", "begin_deallocate"): (f"{VM}/deallocate/action",),
    ("virtual_machines", "generalize"): (f"{VM}/generalize/action",),
    ("virtual_machines", "begin_restart"): (f"{VM}/restart/action",),
    ("virtual_machines", "begin_delete"): (f"{VM}/delete",),
    ("virtual_machine_run_commands", "begin_create_or_update"): (f"{VM}/runCommands/write",),
    ("virtual_machine_run_commands", "get_by_virtual_machine"): (f"{VM}/runCommands/read",),
    ("virtual_machine_run_commands", "begin_delete"): (f"{VM}/runCommands/delete",),
    # Both wait for their operation: its status is a location-scoped diskOperations resource.
    ("disks", "begin_grant_access"): (
        "Microsoft.Compute/disks/beginGetAccess/action",
        "Microsoft.Compute/locations/diskOperations/read",
    ),
    ("disks", "begin_revoke_access"): (
        "Microsoft.Compute/disks/endGetAccess/action",
        "Microsoft.Compute/locations/diskOperations/read",
    ),
    ("images", "begin_create_or_update"): ("Microsoft.Compute/images/write",),
    ("images", "get"): ("Microsoft.Compute/images/read",),
    ("images", "begin_delete"): ("Microsoft.Compute/images/delete",),
    ("galleries", "begin_create_or_update"): (
        "Microsoft.Compute/galleries/write",
        "Microsoft.Compute/locations/capsOperations/read",
    ),
    ("gallery_images", "begin_create_or_update"): (
        "Microsoft.Compute/galleries/images/write",
        "Microsoft.Compute/locations/capsOperations/read",
    ),
    ("gallery_images", "get"): ("Microsoft.Compute/galleries/images/read",),
    ("gallery_image_versions", "begin_create_or_update"): (f"{VERSIONS}/write",),
    ("gallery_image_versions", "get"): (f"{VERSIONS}/read",),
    ("gallery_image_versions", "list_by_gallery_image"): (f"{VERSIONS}/read",),
    ("gallery_image_versions", "begin_delete"): (f"{VERSIONS}/delete",),
    ("virtual_machine_images", "list"): (
        "Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions/read",
    ),
    ("virtual_machine_images", "get"): (
        "Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions/read",
    ),
}

BLOBS = "Microsoft.Storage/storageAccounts/blobServices"
# azure-storage-blob calls on staging and user storage accounts -> (actions, dataActions).
BLOB_ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "create_container": ((f"{BLOBS}/containers/write",), ()),
    "get_user_delegation_key": ((f"{BLOBS}/generateUserDelegationKey/action",), ()),
    "upload_blob": ((), (f"{BLOBS}/containers/blobs/write",)),
    "create_append_blob": ((), (f"{BLOBS}/containers/blobs/write",)),
    "start_copy_from_url": ((), (f"{BLOBS}/containers/blobs/write",)),
    "append_block": ((), (f"{BLOBS}/containers/blobs/add/action",)),
    "download_blob": ((), (f"{BLOBS}/containers/blobs/read",)),
    "get_blob_properties": ((), (f"{BLOBS}/containers/blobs/read",)),
    "list_blobs": ((), (f"{BLOBS}/containers/blobs/read",)),
    "delete_blob": ((), (f"{BLOBS}/containers/blobs/delete",)),
}


def _role() -> tuple[list[str], list[str]]:
    doc = parse(BUILDER)
    return variable(doc, "builderActions"), variable(doc, "builderDataActions")


def _adapter_methods(imports: str) -> Iterator[tuple[Path, ast.ClassDef, ast.FunctionDef]]:
    """Public methods of the classes in shipped modules that import ``imports``."""
    for path, text in shipped_python_files():
        if f"from {imports}" not in text and f"import {imports}" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
                        yield path, node, item


def _called_elsewhere(method: str, adapter: Path) -> bool:
    """Whether shipped code outside the adapter modules calls ``.method(``."""
    pattern = re.compile(rf"\.{re.escape(method)}\(")
    for path, text in shipped_python_files():
        if path.parent == adapter.parent:
            continue
        if pattern.search(text):
            return True
    return False


def _sdk_calls(fn: ast.FunctionDef) -> set[tuple[str, str]]:
    calls = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            group = node.func.value
            if (
                isinstance(group, ast.Attribute)
                and isinstance(group.value, ast.Attribute)
                and group.value.attr == "_client"
            ):
                calls.add((group.attr, node.func.attr))
    return calls


def _method_calls(fn: ast.FunctionDef, cls: ast.ClassDef) -> set[str]:
    """The methods ``fn`` calls, with those of the private helpers of its class it calls (``self._x()``)."""
    helpers = {i.name: i for i in cls.body if isinstance(i, ast.FunctionDef) and i.name.startswith("_")}
    called: set[str] = set()
    todo, seen = [fn], {fn.name}
    while todo:
        for node in ast.walk(todo.pop()):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                called.add(name)
                if name in helpers and name not in seen:
                    seen.add(name)
                    todo.append(helpers[name])
    return called


def _template_variants() -> list[dict[str, Any]]:
    password = KeyVaultSecretRef(
        vault_id="/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/v", secret_name="p"
    )
    common: dict[str, Any] = {
        "run_id": "run1",
        "location": "westeurope",
        "vm_size": "Standard_D2s_v5",
        "admin_password": password,
    }
    marketplace = ImageReference(publisher="p", offer="o", sku="s", version="1.0.0")
    gallery = (
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0"
    )
    image = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/images/img"
    subnet = "/subscriptions/s/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/default"
    specs = [
        BuildVmSpec(os_type="Linux", image_reference=marketplace, additional_data_disks_gb=[8], **common),
        BuildVmSpec(os_type="Windows", image_id=gallery, subnet_id=subnet, **common),
        BuildVmSpec(
            os_type="Linux",
            image_id=image,
            user_assigned_identities=[
                "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"
            ],
            **common,
        ),
    ]
    return [build_vm_deployment(s) for s in specs]


def _template_actions() -> tuple[set[str], set[str]]:
    """(actions ARM checks while deploying the template, resource types it creates)."""
    actions: set[str] = set()
    types: set[str] = {"Microsoft.Compute/disks"}  # the VM's OS and data disks
    for template in _template_variants():
        for resource in template["resources"]:
            type_, props = resource["type"], resource.get("properties") or {}
            types.add(type_)
            actions.add(f"{type_}/write")
            subnets = props.get("subnets") or []
            if any("networkSecurityGroup" in (s.get("properties") or {}) for s in subnets):
                actions.add("Microsoft.Network/networkSecurityGroups/join/action")
            if type_ == "Microsoft.Network/networkInterfaces":
                for config in props["ipConfigurations"]:
                    if "subnet" in config["properties"]:
                        actions.add("Microsoft.Network/virtualNetworks/subnets/join/action")
                    if "publicIPAddress" in config["properties"]:
                        actions.add("Microsoft.Network/publicIPAddresses/join/action")
            if type_ == VM:
                actions.add("Microsoft.Network/networkInterfaces/join/action")
                actions.add("Microsoft.Compute/disks/write")
                source = props["storageProfile"]["imageReference"].get("id", "")
                if "/versions/" in source:
                    actions.add(f"{VERSIONS}/read")
                elif "/images/" in source:
                    actions.add("Microsoft.Compute/images/read")
                # identity: userAssignedIdentities/assign/action comes from Managed Identity Operator on each
                # identity (identity-operator.bicep), never from this subscription-wide role.
    return actions, types


def _derived() -> tuple[set[str], set[str], dict[str, set[str]]]:
    """(actions, dataActions, action -> adapter methods needing it) kiln's code needs."""
    template_actions, template_types = _template_actions()
    actions = set(template_actions)
    data_actions: set[str] = set()
    needed_by: dict[str, set[str]] = {a: {"the build VM template"} for a in template_actions}
    for path, node, fn in _adapter_methods("azure.mgmt"):
        cls = node.name
        if not _called_elsewhere(fn.name, path):
            continue
        for call in _sdk_calls(fn):
            assert call in SDK_ACTIONS, f"{cls}.{fn.name} calls {call}, which has no ARM action mapped here"
            for action in SDK_ACTIONS[call]:
                expanded = (
                    [action.replace(GENERIC, t) for t in template_types]
                    if action.startswith(GENERIC)
                    else [action]
                )
                for a in expanded:
                    actions.add(a)
                    needed_by.setdefault(a, set()).add(f"{cls}.{fn.name}")
    for path, node, fn in _adapter_methods("azure.storage.blob"):
        if node.name == "BlobDocuments" or not _called_elsewhere(fn.name, path):
            continue  # kiln's own store is host storage: Storage Blob Data Owner there
        for method in _method_calls(fn, node) & set(BLOB_ACTIONS):
            plain, data = BLOB_ACTIONS[method]
            actions.update(plain)
            data_actions.update(data)
    return actions, data_actions, needed_by


def test_role_holds_exactly_the_actions_kilns_code_performs() -> None:
    role_actions, role_data_actions = _role()
    derived_actions, derived_data, _ = _derived()
    assert len(role_actions) == len(set(role_actions)), "an action is listed twice"
    assert set(role_actions) - derived_actions == set(), "in the role but not done by kiln's code"
    assert derived_actions - set(role_actions) == set(), "done by kiln's code but missing from the role"
    assert set(role_data_actions) == derived_data


def test_unused_adapter_methods_grant_nothing() -> None:
    # The gallery and image-definition creates exist for the contract suite; no build calls them.
    role_actions, _ = _role()
    assert "Microsoft.Compute/galleries/write" not in role_actions
    assert "Microsoft.Compute/galleries/images/write" not in role_actions


def test_role_has_no_wildcards_nor_authorization_rights() -> None:
    role_actions, role_data_actions = _role()
    for action in role_actions + role_data_actions:
        assert "*" not in action, action
        assert not action.startswith("Microsoft.Authorization/"), action
        assert "assign/action" not in action  # identities are granted one by one (Managed Identity Operator)


def test_role_is_defined_and_assigned_at_subscription_scope() -> None:
    doc = parse(BUILDER)
    assert doc["globals"]["scope"]["value"] == "subscription"
    builder = doc["resources"]["builder"]["config"]
    assert builder["properties"]["type"] == "CustomRole"
    assert builder["properties"]["permissions"] == [
        {
            "actions": "builderActions",
            "notActions": [],
            "dataActions": "builderDataActions",
            "notDataActions": [],
        }
    ]
    assigned = doc["resources"]["builderAssignment"]["config"]
    assert "scope" not in assigned  # the deployment's scope: the subscription
    assert assigned["properties"]["roleDefinitionId"] == {
        "operator": {"type": "property_accessor", "operands": {"operand_1": "builder", "operand_2": "id"}}
    }
    reference = doc["resources"]["keyVaultReference"]["config"]["properties"]["permissions"][0]
    assert reference["actions"] == ["Microsoft.KeyVault/vaults/deploy/action"]


def test_contributor_is_only_an_opt_in() -> None:
    doc = parse(BUILDER)
    contributor = doc["resources"]["contributorAssignment"]["config"]
    assert contributor["condition"] == "grantContributor"
    assert doc["parameters"]["grantContributor"]["default"] is False
    assert parse(MODULES.parent / "main.bicep")["parameters"]["grantContributor"]["default"] is False


def test_docs_list_each_action_with_the_code_that_needs_it() -> None:
    text = DEPLOY_DOC.read_text()
    section = text[text.index("### The custom role") :]
    section = section[: section.index("\n## ")]
    rows = re.findall(r"^\| `([A-Za-z./]+)` \| (.+?) \|", section, flags=re.M)
    documented = {action for action, _ in rows}
    role_actions, role_data_actions = _role()
    assert documented == set(role_actions) | set(role_data_actions) | {
        "Microsoft.KeyVault/vaults/deploy/action"
    }
    assert all(code.strip() for _, code in rows)
