"""Azure Compute Galleries and image definitions; image versions are in ``gallery_versions``."""

from __future__ import annotations

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError
from azuresim.providers import gallery_rules, gallery_versions
from azuresim.providers.compute_common import (
    body_dict,
    compute_id,
    delete_simple,
    json_ok,
    list_body,
    require,
    require_group,
)
from azuresim.router import Router, SimRequest

_GALLERY = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/galleries/{gallery}"
_DEFINITION = _GALLERY + "/images/{image}"


async def put_gallery(req: SimRequest) -> web.StreamResponse:
    body = body_dict(req, "the gallery")
    require_group(req)
    if not body.get("location"):
        raise SimError(
            400, "LocationRequired", "The location property is required for this definition.", "location"
        )
    gallery_id = compute_id(req, "galleries", req.params["gallery"])
    existing = req.sim.store.get(gallery_id)
    props = dict(body.get("properties") or {})
    props["identifier"] = {"uniqueName": f"{req.params['sub']}-{req.params['gallery'].upper()}"}
    gallery = {"location": body["location"], "tags": dict(body.get("tags") or {}), "properties": props}
    req.sim.store.put(gallery_id, gallery)
    return await lro.begin(
        req,
        op="compute.gallery.put",
        resource_id=gallery_id,
        status=200 if existing else 201,
        location=body["location"],
    )


async def get_gallery(req: SimRequest) -> web.StreamResponse:
    return json_ok(
        require(req.sim, compute_id(req, "galleries", req.params["gallery"]), "Microsoft.Compute/galleries")
    )


async def delete_gallery(req: SimRequest) -> web.StreamResponse:
    gallery_id = compute_id(req, "galleries", req.params["gallery"])
    return await delete_simple(req, gallery_id, op="compute.gallery.delete", nested_blocks=True)


async def list_galleries(req: SimRequest) -> web.StreamResponse:
    rg = (req.params["sub"], req.params["rg"])
    return list_body(req.sim.store.list(resource_group=rg, type="Microsoft.Compute/galleries"))


async def put_definition(req: SimRequest) -> web.StreamResponse:
    body = body_dict(req, "the gallery image")
    gallery = require(
        req.sim, compute_id(req, "galleries", req.params["gallery"]), "Microsoft.Compute/galleries"
    )
    props = gallery_rules.validate_definition(dict(body.get("properties") or {}))
    image_id = compute_id(req, "galleries", req.params["gallery"], "images", req.params["image"])
    existing = req.sim.store.get(image_id)
    if existing is not None:
        for field in ("osType", "osState", "hyperVGeneration"):
            if existing["properties"].get(field) != props.get(field):
                raise SimError(
                    409,
                    "PropertyChangeNotAllowed",
                    f"Changing property 'galleryImage.properties.{field}' is not allowed.",
                    f"galleryImage.properties.{field}",
                )
    location = body.get("location") or gallery["location"]
    image = {"location": location, "tags": dict(body.get("tags") or {}), "properties": props}
    req.sim.store.put(image_id, image)
    return await lro.begin(
        req,
        op="compute.galleryimage.put",
        resource_id=image_id,
        status=200 if existing else 201,
        location=location,
    )


def _definition_id(req: SimRequest) -> str:
    return compute_id(req, "galleries", req.params["gallery"], "images", req.params["image"])


async def get_definition(req: SimRequest) -> web.StreamResponse:
    return json_ok(require(req.sim, _definition_id(req), "Microsoft.Compute/galleries/images"))


async def delete_definition(req: SimRequest) -> web.StreamResponse:
    return await delete_simple(req, _definition_id(req), op="compute.galleryimage.delete", nested_blocks=True)


async def list_definitions(req: SimRequest) -> web.StreamResponse:
    gallery = require(
        req.sim, compute_id(req, "galleries", req.params["gallery"]), "Microsoft.Compute/galleries"
    )
    items = [
        r for r in req.sim.store.children(gallery["id"]) if r["type"] == "Microsoft.Compute/galleries/images"
    ]
    return list_body(items)


def register(router: Router) -> None:
    router.add("PUT", _GALLERY, put_gallery, op="compute.gallery.put")
    router.add("GET", _GALLERY, get_gallery, op="compute.gallery.get")
    router.add("DELETE", _GALLERY, delete_gallery, op="compute.gallery.delete")
    router.add("GET", _GALLERY.rsplit("/", 1)[0], list_galleries, op="compute.gallery.list")
    router.add("PUT", _DEFINITION, put_definition, op="compute.galleryimage.put")
    router.add("GET", _DEFINITION, get_definition, op="compute.galleryimage.get")
    router.add("DELETE", _DEFINITION, delete_definition, op="compute.galleryimage.delete")
    router.add("GET", _GALLERY + "/images", list_definitions, op="compute.galleryimage.list")
    gallery_versions.add_routes(router, _DEFINITION)
