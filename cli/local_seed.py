"""What the templates of ``examples/`` expect to exist in Azure, created in azuresim through its ARM API
(plain HTTPS with a bearer token, as any ARM client would), so that kiln's preflight passes locally."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from cli.local_procs import StackError

SUBSCRIPTION = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"  # the examples' subscription
LOCATION = "eastus"
TEMPLATE_GROUP = "rg-image-templates"  # where the demo creates the image templates
KEY_VAULT = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-kiln-local"
    "/providers/Microsoft.KeyVault/vaults/kv-kiln-local"
)
GALLERY = "gal_platform_images"
PENDING = frozenset({"Creating", "Updating", "Accepted", "Provisioning", "Running"})

GROUPS = ("rg-image-builder", "rg-image-gallery", "rg-images", "rg-network", "rg-kiln-local", TEMPLATE_GROUP)
IDENTITIES = ("id-image-builder", "id-build-vm-artifacts")
TL = "TrustedLaunchSupported"
# name, osType, hyperVGeneration, SecurityType feature (None: Standard). The examples' Marketplace sources
# (ubuntu-24_04-lts server, 2022-datacenter-g2) are TrustedLaunchSupported, and kiln's preflight, as AIB,
# wants source and definition to match.
IMAGE_DEFINITIONS = (
    ("ubuntu-2404-gen2", "Linux", "V2", TL),
    ("ubuntu-2404-web", "Linux", "V2", TL),
    ("ubuntu-2404-trusted-launch", "Linux", "V2", TL),
    ("windows-2022-gen2", "Windows", "V2", TL),
)


# What the examples' template identity may do (docs/security.md): AIB's documented custom roles for image
# creation (subscription-wide here, as the e2e tests give each build its own image definition) and for the
# build network, and Managed Identity Operator on the identity the build VM carries.
IMAGE_CREATION_ROLE_ID = "6e7f3c2a-8b1d-4f5e-9a0c-1d2e3f4a5b6c"
IMAGE_CREATION_ROLE = {
    "roleName": "Azure Image Builder Service Image Creation Role",
    "description": "Image Builder access to create resources for the image build (AIB's documented role)",
    "permissions": [
        {
            "actions": [
                "Microsoft.Compute/galleries/read",
                "Microsoft.Compute/galleries/images/read",
                "Microsoft.Compute/galleries/images/versions/read",
                "Microsoft.Compute/galleries/images/versions/write",
                "Microsoft.Compute/images/write",
                "Microsoft.Compute/images/read",
                "Microsoft.Compute/images/delete",
            ],
            "notActions": [],
            "dataActions": [],
        }
    ],
}
NETWORK_ROLE_ID = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
NETWORK_ROLE = {
    "roleName": "Azure Image Builder Service Networking Role",
    "description": "Image Builder access to join the build VM to an existing subnet (AIB's documented role)",
    "permissions": [
        {
            "actions": [
                "Microsoft.Network/virtualNetworks/read",
                "Microsoft.Network/virtualNetworks/subnets/join/action",
            ],
            "notActions": [],
            "dataActions": [],
        }
    ],
}
MANAGED_IDENTITY_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830"
# Purchase plans of the examples' Marketplace sources whose terms the subscription accepted, as a user does
# once with `az vm image terms accept` (preflight checks it).
ACCEPTED_PLANS = (("redhat", "rhel-byos", "rhel-lvm9"),)

# A simulated VM runs nothing: azuresim answers run commands by rules. kiln's Windows Update script ends with
# "KILN-WU installed=N remaining=M reboot=b" (activities/support/scripts.py); this rule plays one round
# finding 2 updates.
RUN_COMMAND_OUTCOMES = [
    {
        "pattern": "KILN-WU installed=",
        "exitCode": 0,
        "stdout": "kiln: selected 2026-11 Cumulative Update for Microsoft server operating system\n"
        "kiln: selected Security Intelligence Update for Microsoft Defender Antivirus\n"
        "KILN-WU installed=2 remaining=0 reboot=false\n",
    }
]


@dataclass
class SimArm:
    """A minimal ARM client of azuresim: PUT a resource and wait until it is provisioned."""

    base_url: str
    ca_file: str
    subscription: str = SUBSCRIPTION
    poll_seconds: float = 0.1
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self.session = requests.Session()
        # azuresim checks that a bearer token is present, not what it says.
        self.session.headers["Authorization"] = "Bearer kiln-local"

    def path(self, group: str, provider_path: str = "") -> str:
        tail = f"/providers/{provider_path}" if provider_path else ""
        return f"/subscriptions/{self.subscription}/resourceGroups/{group}{tail}"

    def control(self, method: str, path: str, body: Any) -> None:
        """azuresim's control plane (``/_sim/…``): no token, no latency."""
        resp = self.session.request(method, self.base_url + path, json=body, timeout=30, verify=self.ca_file)
        if resp.status_code >= 400:
            raise StackError(f"azuresim refused {method} {path}: {resp.status_code} {resp.text[:300]}")

    def get(self, path: str, api_version: str) -> dict[str, Any]:
        got = self.session.get(
            f"{self.base_url}{path}?api-version={api_version}", timeout=30, verify=self.ca_file
        )
        if got.status_code >= 400:
            raise StackError(f"azuresim refused GET {path}: {got.status_code} {got.text[:300]}")
        resource: dict[str, Any] = got.json()
        return resource

    def put(self, path: str, body: dict[str, Any], api_version: str) -> dict[str, Any]:
        url = f"{self.base_url}{path}?api-version={api_version}"
        # verify per request: a session's verify loses to $REQUESTS_CA_BUNDLE.
        resp = self.session.put(url, json=body, timeout=30, verify=self.ca_file)
        if resp.status_code >= 400:
            raise StackError(f"azuresim refused PUT {path}: {resp.status_code} {resp.text[:300]}")
        deadline = time.monotonic() + self.timeout
        while True:
            got = self.session.get(url, timeout=30, verify=self.ca_file)
            resource: dict[str, Any] = got.json() if got.content else {}
            state = (resource.get("properties") or {}).get("provisioningState")
            if got.status_code == 200 and state not in PENDING:
                return resource
            if time.monotonic() > deadline:
                raise StackError(f"{path} is still {state} after {self.timeout:.0f}s in azuresim")
            time.sleep(self.poll_seconds)


def seed_examples(arm: SimArm) -> list[str]:
    """Create the groups, identities, network and gallery the examples use; the ids created."""
    made = []
    for group in GROUPS:
        made.append(arm.put(arm.path(group), {"location": LOCATION}, "2024-03-01")["id"])
    for identity in IDENTITIES:
        path = arm.path("rg-image-builder", f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}")
        made.append(arm.put(path, {"location": LOCATION}, "2023-01-31")["id"])
    vnet = arm.path("rg-network", "Microsoft.Network/virtualNetworks/vnet-build")
    made.append(arm.put(vnet, _vnet(), "2024-05-01")["id"])
    gallery = arm.path("rg-image-gallery", f"Microsoft.Compute/galleries/{GALLERY}")
    made.append(arm.put(gallery, {"location": LOCATION, "properties": {}}, "2024-03-03")["id"])
    for name, os_type, generation, security in IMAGE_DEFINITIONS:
        body = _definition(name, os_type, generation, security)
        made.append(arm.put(f"{gallery}/images/{name}", body, "2024-03-03")["id"])
    vault = {"location": LOCATION, "properties": {"sku": {"name": "standard"}}}
    made.append(arm.put(KEY_VAULT, vault, "2023-07-01")["id"])
    made += seed_roles(arm)
    for publisher, offer, plan in ACCEPTED_PLANS:
        path = (
            f"/subscriptions/{arm.subscription}/providers/Microsoft.MarketplaceOrdering/offerTypes/VirtualMachine"
            f"/publishers/{publisher}/offers/{offer}/plans/{plan}/agreements/current"
        )
        made.append(arm.put(path, {"properties": {"accepted": True}}, "2021-01-01")["id"])
    arm.control("PUT", "/_sim/runcommand-outcomes", RUN_COMMAND_OUTCOMES)
    return made


def template_identity(arm: SimArm) -> str:
    return arm.path("rg-image-builder", f"Microsoft.ManagedIdentity/userAssignedIdentities/{IDENTITIES[0]}")


def role_assignment_id(scope: str, role_id: str, principal: str) -> str:
    """A stable assignment name per (scope, role, principal), as ``az role assignment create`` makes one."""
    import uuid

    name = uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}|{role_id}|{principal}".lower())
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"


def seed_roles(arm: SimArm) -> list[str]:
    """The examples' template identity gets AIB's image creation and networking roles, and Managed Identity
    Operator on the build VM's identity; the ids of the assignments."""
    sub = f"/subscriptions/{arm.subscription}"
    definitions = f"{sub}/providers/Microsoft.Authorization/roleDefinitions"
    for role_id, role in ((IMAGE_CREATION_ROLE_ID, IMAGE_CREATION_ROLE), (NETWORK_ROLE_ID, NETWORK_ROLE)):
        arm.put(f"{definitions}/{role_id}", {"properties": {**role, "assignableScopes": [sub]}}, "2022-04-01")
    identity = arm.get(template_identity(arm), "2023-01-31")
    principal = identity["properties"]["principalId"]
    vm_identity = arm.path(
        "rg-image-builder", f"Microsoft.ManagedIdentity/userAssignedIdentities/{IDENTITIES[1]}"
    )
    grants = (
        (sub, IMAGE_CREATION_ROLE_ID),
        (arm.path("rg-network"), NETWORK_ROLE_ID),
        (vm_identity, MANAGED_IDENTITY_OPERATOR),
    )
    made = []
    for scope, role_id in grants:
        body = {"properties": {"roleDefinitionId": f"{definitions}/{role_id}", "principalId": principal}}
        made.append(arm.put(role_assignment_id(scope, role_id, principal), body, "2022-04-01")["id"])
    return made


def _vnet() -> dict[str, Any]:
    aci = {"name": "aci", "properties": {"serviceName": "Microsoft.ContainerInstance/containerGroups"}}
    return {
        "location": LOCATION,
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.20.0.0/16"]},
            "subnets": [
                {"name": "snet-build-vms", "properties": {"addressPrefix": "10.20.1.0/24"}},
                {
                    "name": "snet-build-aci",
                    "properties": {"addressPrefix": "10.20.2.0/24", "delegations": [aci]},
                },
            ],
        },
    }


def _definition(name: str, os_type: str, generation: str, security: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "osType": os_type,
        "osState": "Generalized",
        "hyperVGeneration": generation,
        "identifier": {"publisher": "kiln-local", "offer": "examples", "sku": name},
    }
    if security:
        props["features"] = [{"name": "SecurityType", "value": security}]
    return {"location": LOCATION, "properties": props}
