"""Azure Marketplace VM images (``virtual_machine_images``), Marketplace agreements, and the control endpoint
``POST /_sim/marketplace/versions`` that publishes a new version (for kiln's new-source-image
scenarios)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from azuresim.errors import SimError
from azuresim.providers.marketplace_catalog import Catalog, Sku, image_id, image_properties
from azuresim.router import Router, SimRequest

_LOC = "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/publishers"
_SKU = _LOC + "/{pub}/artifacttypes/vmimage/offers/{offer}/skus/{sku}"
_AGREEMENT = (
    "/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine"
    "/publishers/{pub}/offers/{offer}/plans/{plan}/agreements/current"
)
PUBLISHED = "marketplace.published"  # sim.control key: version specs published at run time
AGREEMENTS = "marketplace.agreements"


def catalog_of(sim: Any) -> Catalog:
    """The seeded catalog plus what the control plane published (kept in ``sim.control`` so it persists)."""
    catalog = Catalog()
    for spec in sim.control.get(PUBLISHED, []):
        catalog.publish(spec)
    if getattr(sim, "compute", None) is not None:
        # A URN a user registered an image file for is in the Marketplace too (with the QEMU backend).
        for image in sim.compute.local_images().values():
            publisher, offer, sku = image.urn.split(":")[:3]
            if catalog.find(publisher, offer, sku) is None:
                catalog.publish(
                    {"publisher": publisher, "offer": offer, "sku": sku, "version": image.version,
                     "osType": image.os_type, "hyperVGeneration": image.generation}
                )  # fmt: skip
    return catalog


def _not_found() -> SimError:
    return SimError(404, "NotFound", "Artifact: VMImage was not found.")


def _sku(req: SimRequest) -> Sku:
    sku = catalog_of(req.sim).find(req.params["pub"], req.params["offer"], req.params["sku"])
    if sku is None:
        raise _not_found()
    return sku


def _top(req: SimRequest) -> int | None:
    raw = req.query.get("$top")
    if raw is None:
        return None
    if not raw.isdigit():
        raise SimError(400, "InvalidParameter", f"The value '{raw}' of parameter '$top' is invalid.", "$top")
    return int(raw)


def _resource(req: SimRequest, sku: Sku, version: str, *, with_properties: bool) -> dict[str, Any]:
    loc = req.params["loc"]
    out: dict[str, Any] = {
        "name": version,
        "location": loc,
        "id": image_id(req.params["sub"], loc, sku, version),
    }
    if with_properties:
        out["properties"] = image_properties(sku)
    return out


async def list_versions(req: SimRequest) -> web.StreamResponse:
    sku = _sku(req)
    descending = req.query.get("$orderby", "").strip().lower().endswith("desc")
    names = catalog_of(req.sim).versions(
        sku.publisher, sku.offer, sku.sku, top=_top(req), descending=descending
    )
    expand = req.query.get("$expand", "").lower() == "properties"
    # Azure answers this list as a bare JSON array, not {"value": [...]}.
    return web.json_response([_resource(req, sku, v, with_properties=expand) for v in names])


async def get_version(req: SimRequest) -> web.StreamResponse:
    sku = _sku(req)
    if req.params["version"] not in sku.versions:
        raise _not_found()
    return web.json_response(_resource(req, sku, req.params["version"], with_properties=True))


def _names(req: SimRequest, names: list[str]) -> web.Response:
    loc, sub = req.params["loc"], req.params["sub"]
    base = f"/Subscriptions/{sub}/Providers/Microsoft.Compute/Locations/{loc}/Publishers"
    return web.json_response([{"name": n, "location": loc, "id": f"{base}/{n}"} for n in names])


async def list_publishers(req: SimRequest) -> web.StreamResponse:
    return _names(req, catalog_of(req.sim).publishers())


async def list_offers(req: SimRequest) -> web.StreamResponse:
    return _names(req, catalog_of(req.sim).offers(req.params["pub"]))


async def list_skus(req: SimRequest) -> web.StreamResponse:
    return _names(req, catalog_of(req.sim).skus(req.params["pub"], req.params["offer"]))


async def publish_version(req: SimRequest) -> web.StreamResponse:
    spec = req.body if isinstance(req.body, dict) else {}
    for field in ("publisher", "offer", "sku", "version"):
        if not isinstance(spec.get(field), str) or not spec[field]:
            raise SimError(400, "InvalidParameter", f"'{field}' is required (a non-empty string).", field)
    req.sim.control.setdefault(PUBLISHED, []).append(dict(spec))
    req.sim.persist()
    sku = catalog_of(req.sim).find(spec["publisher"], spec["offer"], spec["sku"])
    assert sku is not None
    loc = str(spec.get("location", "eastus"))
    body = {
        "name": spec["version"],
        "location": loc,
        "id": image_id("{subscriptionId}", loc, sku, spec["version"]),
    }
    return web.json_response({**body, "properties": image_properties(sku)}, status=201)


def _agreement(req: SimRequest, accepted: bool) -> dict[str, Any]:
    p = req.params
    return {
        "id": f"/subscriptions/{p['sub']}/providers/Microsoft.MarketplaceOrdering/offerTypes/VirtualMachine"
        f"/publishers/{p['pub']}/offers/{p['offer']}/plans/{p['plan']}/agreements/current",
        "name": p["plan"],
        "type": "Microsoft.MarketplaceOrdering/offertypes",
        "properties": {
            "publisher": p["pub"],
            "product": p["offer"],
            "plan": p["plan"],
            "licenseTextLink": f"https://storelegalterms.blob.core.windows.net/legalterms/{p['pub']}.txt",
            "privacyPolicyLink": f"https://{p['pub']}.example/privacy",
            "marketplaceTermsLink": "https://mpcprodsa.blob.core.windows.net/marketplaceterms/3EDEF_marketplaceterms.htm",
            "retrieveDatetime": "2026-01-01T00:00:00Z",
            "signature": "AZURESIMSIGNATURE",
            "accepted": accepted,
        },
    }


def _agreement_key(req: SimRequest) -> str:
    return "/".join(req.params[k].lower() for k in ("pub", "offer", "plan"))


async def get_agreement(req: SimRequest) -> web.StreamResponse:
    accepted = bool(req.sim.control.get(AGREEMENTS, {}).get(_agreement_key(req), False))
    return web.json_response(_agreement(req, accepted))


async def put_agreement(req: SimRequest) -> web.StreamResponse:
    accepted = bool((req.body or {}).get("properties", {}).get("accepted", False))
    req.sim.control.setdefault(AGREEMENTS, {})[_agreement_key(req)] = accepted
    req.sim.persist()
    return web.json_response(_agreement(req, accepted))


def register(router: Router) -> None:
    router.add("GET", _SKU + "/versions", list_versions, op="compute.marketplace.list")
    router.add("GET", _SKU + "/versions/{version}", get_version, op="compute.marketplace.get")
    router.add("GET", _LOC, list_publishers, op="compute.marketplace.list")
    router.add(
        "GET", _LOC + "/{pub}/artifacttypes/vmimage/offers", list_offers, op="compute.marketplace.list"
    )
    router.add(
        "GET",
        _LOC + "/{pub}/artifacttypes/vmimage/offers/{offer}/skus",
        list_skus,
        op="compute.marketplace.list",
    )
    router.add("GET", _AGREEMENT, get_agreement, op="marketplace.agreement.get")
    router.add("PUT", _AGREEMENT, put_agreement, op="marketplace.agreement.put")
    router.add("POST", "/_sim/marketplace/versions", publish_version, op="sim.control")
