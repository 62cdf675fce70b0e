"""The seeded Azure Marketplace catalog: publishers, offers, SKUs and versions kiln builds from.

Plain data and lookups, no HTTP. Version strings follow each publisher's real scheme (Canonical
``24.04.YYYYMMDDn``, Windows ``build.revision.yymmdd``, Red Hat ``9.x.YYYYMMDDhh``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Sku:
    publisher: str
    offer: str
    sku: str
    os_type: str  # "Linux" | "Windows"
    generation: str  # hyperVGeneration: "V1" | "V2"
    versions: tuple[str, ...]
    security_type: str | None = None  # the SecurityType feature, e.g. "TrustedLaunchSupported"
    plan: dict[str, str] | None = None  # Marketplace purchase plan (BYOS images)
    architecture: str = "x64"
    accelerated_networking: bool = True
    extra_features: tuple[tuple[str, str], ...] = field(default=())

    def key(self) -> tuple[str, str, str]:
        return (self.publisher.lower(), self.offer.lower(), self.sku.lower())


_UBUNTU_2404 = ("24.04.202409120", "24.04.202410160", "24.04.202411030")
_UBUNTU_2204 = ("22.04.202409110", "22.04.202410020", "22.04.202411010")
_WS2022 = ("20348.2700.240911", "20348.2762.241006", "20348.2849.241109")
_DEBIAN_12 = ("0.20241004.1890", "0.20241111.1928", "0.20261201.1")
_WS2019 = ("17763.6293.240905", "17763.6414.241004", "17763.6532.241101")

SEED: tuple[Sku, ...] = (
    Sku("Debian", "debian-12", "12", "Linux", "V1", _DEBIAN_12),
    Sku("Debian", "debian-12", "12-gen2", "Linux", "V2", _DEBIAN_12, "TrustedLaunchSupported"),
    Sku("Canonical", "ubuntu-24_04-lts", "server", "Linux", "V2", _UBUNTU_2404, "TrustedLaunchSupported"),
    Sku("Canonical", "ubuntu-24_04-lts", "server-gen1", "Linux", "V1", _UBUNTU_2404),
    Sku("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts", "Linux", "V1", _UBUNTU_2204),
    Sku(
        "Canonical",
        "0001-com-ubuntu-server-jammy",
        "22_04-lts-gen2",
        "Linux",
        "V2",
        _UBUNTU_2204,
        "TrustedLaunchSupported",
    ),
    Sku(
        "Canonical",
        "0001-com-ubuntu-confidential-vm-jammy",
        "22_04-lts-cvm",
        "Linux",
        "V2",
        ("22.04.202410020", "22.04.202411010"),
        "ConfidentialVMSupported",
    ),
    Sku("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter", "Windows", "V1", _WS2022),
    Sku(
        "MicrosoftWindowsServer",
        "WindowsServer",
        "2022-datacenter-g2",
        "Windows",
        "V2",
        _WS2022,
        "TrustedLaunchSupported",
    ),
    Sku(
        "MicrosoftWindowsServer",
        "WindowsServer",
        "2022-datacenter-azure-edition",
        "Windows",
        "V2",
        _WS2022,
        "TrustedLaunchSupported",
    ),
    Sku(
        "MicrosoftWindowsServer",
        "WindowsServer",
        "2022-datacenter-smalldisk-g2",
        "Windows",
        "V2",
        _WS2022,
        "ConfidentialVMSupported",
    ),
    Sku(
        "MicrosoftWindowsServer",
        "WindowsServer",
        "2019-datacenter-gensecond",
        "Windows",
        "V2",
        _WS2019,
        "TrustedLaunchSupported",
    ),
    Sku(
        "RedHat",
        "RHEL",
        "9-lvm-gen2",
        "Linux",
        "V2",
        ("9.4.2024081414", "9.4.2024101109", "9.5.2024112209"),
        "TrustedLaunchSupported",
    ),
    Sku(
        "RedHat",
        "RHEL-byos",
        "rhel-lvm9",
        "Linux",
        "V1",
        ("9.4.2024081413", "9.5.2024112208"),
        plan={"name": "rhel-lvm9", "publisher": "redhat", "product": "rhel-byos"},
    ),
)


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a dotted version: numeric parts compare as numbers (``2.10`` after ``2.9``)."""
    out: list[int] = []
    for part in version.split("."):
        out.append(int(part) if part.isdigit() else -1)
    return tuple(out)


class Catalog:
    """The seed plus versions and SKUs published at run time through the control plane."""

    def __init__(self, seed: tuple[Sku, ...] = SEED) -> None:
        self._skus: dict[tuple[str, str, str], Sku] = {s.key(): s for s in seed}

    def find(self, publisher: str, offer: str, sku: str) -> Sku | None:
        return self._skus.get((publisher.lower(), offer.lower(), sku.lower()))

    def versions(
        self, publisher: str, offer: str, sku: str, *, top: int | None, descending: bool
    ) -> list[str]:
        found = self.find(publisher, offer, sku)
        if found is None:
            return []
        ordered = sorted(found.versions, key=version_key, reverse=descending)
        return ordered[:top] if top is not None else ordered

    def publish(self, spec: dict[str, Any]) -> Sku:
        """Add a version (creating the SKU from ``spec``'s properties if it is new); returns the SKU."""
        publisher, offer, sku_name, version = (str(spec[k]) for k in ("publisher", "offer", "sku", "version"))
        existing = self.find(publisher, offer, sku_name)
        if existing is None:
            existing = Sku(
                publisher,
                offer,
                sku_name,
                str(spec.get("osType", "Linux")),
                str(spec.get("hyperVGeneration", "V2")),
                (),
                spec.get("securityType"),
                spec.get("plan"),
                str(spec.get("architecture", "x64")),
            )
        if version not in existing.versions:
            existing = replace(existing, versions=(*existing.versions, version))
        self._skus[existing.key()] = existing
        return existing

    def publishers(self) -> list[str]:
        return sorted({s.publisher for s in self._skus.values()}, key=str.lower)

    def offers(self, publisher: str) -> list[str]:
        return sorted({s.offer for s in self._skus.values() if s.publisher.lower() == publisher.lower()})

    def skus(self, publisher: str, offer: str) -> list[str]:
        return sorted(
            s.sku
            for s in self._skus.values()
            if s.publisher.lower() == publisher.lower() and s.offer.lower() == offer.lower()
        )


def image_properties(sku: Sku) -> dict[str, Any]:
    """``properties`` of a VirtualMachineImage as the versions/{version} GET returns it."""
    features = [{"name": "IsAcceleratedNetworkSupported", "value": str(sku.accelerated_networking)}]
    if sku.security_type:
        features.insert(0, {"name": "SecurityType", "value": sku.security_type})
    features += [{"name": n, "value": v} for n, v in sku.extra_features]
    props: dict[str, Any] = {
        "hyperVGeneration": sku.generation,
        "architecture": sku.architecture,
        "osDiskImage": {"operatingSystem": sku.os_type},
        "dataDiskImages": [],
        "automaticOSUpgradeProperties": {"automaticOSUpgradeSupported": sku.os_type == "Windows"},
        "disallowed": {"vmDiskType": "Unmanaged"},
        "features": features,
        "imageDeprecationStatus": {"imageState": "Active"},
    }
    if sku.plan:
        props["plan"] = dict(sku.plan)
    return props


def image_id(sub: str, location: str, sku: Sku, version: str) -> str:
    # Azure answers these ids with capitalised segments ("/Subscriptions/", "/Providers/").
    return (
        f"/Subscriptions/{sub}/Providers/Microsoft.Compute/Locations/{location}/Publishers/{sku.publisher}"
        f"/ArtifactTypes/VMImage/Offers/{sku.offer}/Skus/{sku.sku}/Versions/{version}"
    )
