"""What SourceImage triggers watch, and the version their source's ``latest`` resolves to now.

A trigger watches its template's source: a PlatformImage with version ``latest`` (publisher, offer, sku in
the template's region) or a gallery image definition (``…/images/{i}/versions/latest``). The version a
source would build from is computed as the build's resolve phase does (``activities/resolve_source.py``):
the highest Marketplace version, or the highest gallery version that is provisioned and not excluded from
latest. Versions are identified as the build's ``exactVersion`` is: the Marketplace version string, the
gallery version's resource id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.store import JsonStore, TemplateRef, keys

if TYPE_CHECKING:
    from shared.ports import AzurePortSet

GALLERY_VERSION = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute"
    r"/galleries/(?P<gallery>[^/]+)/images/(?P<image>[^/]+)/versions/(?P<version>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Watched:
    """A template with a SourceImage trigger, and what its source is."""

    ref: TemplateRef
    trigger: str
    source: dict[str, Any]
    location: str

    @property
    def gallery_definition(self) -> str | None:
        """The lower-cased image definition id of a gallery source, None for a Marketplace source."""
        if self.source.get("type") != "SharedImageVersion":
            return None
        return str(self.source.get("imageVersionId", "")).lower().removesuffix("/versions/latest")


def version_key(version: str) -> tuple[int, ...]:
    """Numeric order of versions (``1.10.0`` after ``1.9.3``), as the build's resolve phase orders them."""
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def watched_templates(store: JsonStore) -> list[Watched]:
    """Every template with a SourceImage trigger on a floating (``latest``) source."""
    found: list[Watched] = []
    for key in store.list_all_keys(keys.TRIGGERS + "/"):
        parts = key.removeprefix(keys.TRIGGERS + "/").removesuffix(".json").split("/")
        if len(parts) != 4:
            continue
        template = store.get(keys.template(TemplateRef(*parts[:3])))
        if template is None or parts[3] not in template.body["kiln"].get("triggers", []):
            continue
        item = watched(template.body, parts[3])
        if item is not None:
            found.append(item)
    return found


def watched(template: dict[str, Any], trigger: str) -> Watched | None:
    """The template as a trigger watches it; None when its source does not float."""
    spec = template["spec"]
    source = spec.get("properties", {}).get("source", {})
    rid = template["readOnly"]["id"]
    match = re.match(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/.*/imageTemplates/(.+)$", rid)
    if match is None:
        return None
    ref = TemplateRef(*match.groups())
    floating = (
        source.get("type") == "PlatformImage" and str(source.get("version", "")).lower() == "latest"
    ) or str(source.get("imageVersionId", "")).lower().endswith("/versions/latest")
    if not floating:
        return None
    return Watched(ref=ref, trigger=trigger, source=source, location=spec["location"])


def latest_version(ports: AzurePortSet, item: Watched) -> str | None:
    """The version the source's ``latest`` resolves to now (None when it has none)."""
    definition = item.gallery_definition
    if definition is None:
        names = {k: str(item.source.get(k, "")) for k in ("publisher", "offer", "sku")}
        versions = ports.marketplace.list_versions(location=item.location, **names)
        return max(versions, key=version_key) if versions else None
    match = GALLERY_VERSION.match(definition + "/versions/latest")
    if match is None:
        return None
    candidates = [
        v
        for v in ports.galleries.list_versions(
            resource_group=match["rg"], gallery=match["gallery"], image=match["image"]
        )
        if not v.exclude_from_latest and v.provisioning_state == "Succeeded"
    ]
    if not candidates:
        return None
    return str(max(candidates, key=lambda v: version_key(v.name)).id)


def same_version(a: str | None, b: str | None) -> bool:
    """Versions compare as ARM ids do: without regard to case."""
    return a is not None and b is not None and a.lower() == b.lower()
