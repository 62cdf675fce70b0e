"""kiln's OpenAPI 3.1 document, generated from the pydantic models of the contract.

Request bodies use each model's validation schema and responses its serialization schema, so what the
document promises is what ``shared/models`` accepts and what the service returns.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from shared.service.checks import SUPPORTED

_REF = "#/components/schemas/{model}"
_PROVIDER = "/providers/Microsoft.VirtualMachineImages"
_SUB = "/subscriptions/{subscriptionId}"
_TEMPLATES = _SUB + "/resourceGroups/{resourceGroupName}" + _PROVIDER + "/imageTemplates"
_TEMPLATE = _TEMPLATES + "/{imageTemplateName}"
_LOCATION = _SUB + _PROVIDER + "/locations/{location}"
_NAME = "^[A-Za-z0-9-_.]{1,64}$"
_GUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_ERRORS = ("400", "404", "409", "413", "415")


def _schema(model: type[BaseModel], mode: str, schemas: dict[str, Any]) -> dict[str, Any]:
    body = model.model_json_schema(by_alias=True, ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    schemas.update(body.pop("$defs", {}))
    return body


def _components() -> dict[str, Any]:
    from shared.models import ImageTemplate, ImageTemplateUpdate, RunOutput, Trigger

    schemas: dict[str, Any] = {}
    schemas["ImageTemplate"] = _schema(ImageTemplate, "serialization", schemas)
    schemas["ImageTemplateInput"] = _strict_input(_schema(ImageTemplate, "validation", schemas))
    schemas["ImageTemplateUpdateParameters"] = _schema(ImageTemplateUpdate, "validation", schemas)
    schemas["Trigger"] = _schema(Trigger, "serialization", schemas)
    schemas["TriggerInput"] = _schema(Trigger, "validation", schemas)
    schemas["RunOutput"] = _schema(RunOutput, "serialization", schemas)
    fields: dict[str, Any] = {k: {"type": "string"} for k in ("code", "message", "target")}
    detail: dict[str, Any] = {"type": "object", "properties": fields}
    error = {"type": "object", "properties": {**fields, "details": {"type": "array", "items": detail}}}
    schemas["ErrorResponse"] = {"type": "object", "required": ["error"], "properties": {"error": error}}
    schemas["Run"] = _run_schema()
    schemas["PatchCycle"] = _cycle_schema()
    schemas["OutdatedImageTemplate"] = {
        "type": "object",
        "properties": {
            k: {"type": ["string", "null"]}
            for k in ("template", "runOutput", "artifactId", "runId", "builtFrom", "latest", "error")
        },
    }
    schemas["RunSkipped"] = {
        "type": "object",
        "required": ["status", "reason"],
        "properties": {k: {"type": "string"} for k in ("status", "reason", "lastRunId", "fingerprint")},
    }
    for name in (
        "ImageTemplate",
        "Trigger",
        "RunOutput",
        "Operation",
        "Run",
        "PatchCycle",
        "OutdatedImageTemplate",
    ):
        schemas[f"{name}List"] = {
            "type": "object",
            "required": ["value"],
            "properties": {
                "value": {"type": "array", "items": {"$ref": _REF.format(model=name)}},
                "nextLink": {"type": "string"},
            },
        }
    text = {"type": "string"}
    schemas["Operation"] = {
        "type": "object",
        "properties": {
            "name": text,
            "isDataAction": {"type": "boolean"},
            "origin": text,
            "display": {
                "type": "object",
                "properties": {k: text for k in ("provider", "resource", "operation", "description")},
            },
        },
    }
    schemas["OperationStatus"] = {
        "type": "object",
        "required": ["id", "name", "status"],
        "properties": {
            **{k: text for k in ("id", "name", "startTime", "endTime")},
            "status": {"enum": ["InProgress", "Succeeded", "Failed", "Canceled"]},
            "error": error,
        },
    }
    _id_patterns(schemas)  # after every model: each one rewrites the definitions it shares
    # shared.models.rules: a PlatformImage source names all four; 0 or 6-960 minutes.
    platform = schemas["PlatformImageSource"]
    platform["required"] = ["type", "publisher", "offer", "sku", "version"]
    for name in platform["required"][1:]:  # required and not null (the rule refuses null)
        platform["properties"][name] = {"type": "string", "pattern": _NOT_BLANK}
    _key_patterns(schemas)
    _cross_field_rules(schemas)
    timeout = schemas["TemplateProperties"]["properties"]["buildTimeoutInMinutes"]
    timeout.pop("minimum", None)
    timeout.pop("maximum", None)
    timeout["anyOf"] = [{"const": 0}, {"minimum": 6, "maximum": 960}]
    return schemas


_SEGMENT = "[A-Za-z0-9][A-Za-z0-9_.-]{0,79}"
# One character Python's str.strip() keeps (fields._not_blank): ECMA's \S also counts \x1c-\x1f and \x85
# as text, which strip() removes.
_NOT_BLANK = (
    "[^\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)
_GUID_RE = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_GROUP = f"/subscriptions/{_GUID_RE}/resourceGroups/[-A-Za-z0-9_()]{{1,90}}"
_VERSION = "[0-9]{1,9}\\.[0-9]{1,9}\\.[0-9]{1,9}"
_GALLERY_IMAGE = f"{_GROUP}/providers/Microsoft\\.Compute/galleries/{_SEGMENT}/images/{_SEGMENT}"
_SUBNET = f"^{_GROUP}/providers/Microsoft\\.Network/virtualNetworks/{_SEGMENT}/subnets/{_SEGMENT}$"
# Resource id fields (shared.models.fields.RESOURCE_ID_CHECKS) as patterns: stricter than the rules (ASCII
# names, canonical casing), never looser, so a body the document accepts is one kiln accepts.
_ID_PATTERNS = {
    "imageId": f"^{_GROUP}/providers/Microsoft\\.Compute/images/{_SEGMENT}$",
    "galleryImageId": f"^{_GALLERY_IMAGE}(/versions/{_VERSION})?$",
    "imageVersionId": f"^{_GALLERY_IMAGE}/versions/({_VERSION}|latest)$",
    "subnetId": _SUBNET,
    "containerInstanceSubnetId": _SUBNET,
    "stagingResourceGroup": f"^{_GROUP}$",
    "userAssignedIdentities": f"^{_GROUP}/providers/Microsoft\\.ManagedIdentity/userAssignedIdentities/"
    f"{_SEGMENT}$",
    "location": "^[A-Za-z][A-Za-z0-9]*( [A-Za-z0-9]+)*$",
    "vmSize": "^([A-Za-z][A-Za-z0-9_]*)?$",
}
_IDENTITY_ID = _ID_PATTERNS["userAssignedIdentities"]


def _id_patterns(schemas: dict[str, Any]) -> None:
    """Give every resource-id and region field of every model its pattern (arrays: their items)."""
    for schema in schemas.values():
        for name, field in (schema.get("properties") or {}).items():
            if name not in _ID_PATTERNS or "enum" in field:
                continue
            for branch in [field, *field.get("anyOf", [])]:
                target = branch.get("items", branch) if branch.get("type") == "array" else branch
                if target.get("type") == "string":
                    target["pattern"] = _ID_PATTERNS[name]


def _non_null(schema: dict[str, Any], *names: str) -> None:
    """The fields a rule treats as absent when null: present means a value (kiln never returns null)."""
    for name in names:
        field = schema["properties"][name]
        branches = [b for b in field.get("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:
            field.pop("anyOf")
            field.pop("default", None)
            field.update(branches[0])


def _cross_field_rules(schemas: dict[str, Any]) -> None:
    """``shared.models.rules`` where a schema can say it: a script step has ``scriptUri`` or ``inline``
    (exactly one, ``inline`` not empty), PowerShell's ``runAsSystem`` needs ``runElevated``, a File step names
    ``sourceUri`` and ``destination``, a gallery target ``targetRegions`` or ``replicationRegions`` (not both)
    and a distributor-level ``storageAccountType`` only with ``replicationRegions``; an ACI subnet
    (``containerInstanceSubnetId``) needs ``subnetId`` and no ``proxyVmSize``."""
    for kind in ("ShellCustomizer", "PowerShellCustomizer"):
        step = schemas[kind]
        _non_null(step, "scriptUri", "inline")
        step["properties"]["inline"]["minItems"] = 1
        step["oneOf"] = [{"required": ["scriptUri"]}, {"required": ["inline"]}]
    schemas["PowerShellCustomizer"]["anyOf"] = [
        {"not": {"required": ["runAsSystem"], "properties": {"runAsSystem": {"const": True}}}},
        {"required": ["runElevated"], "properties": {"runElevated": {"const": True}}},
    ]
    file_step = schemas["FileCustomizer"]
    _non_null(file_step, "sourceUri", "destination")
    file_step["required"] = [*file_step.get("required", []), "sourceUri", "destination"]
    gallery = schemas["SharedImageDistributor"]
    _non_null(gallery, "targetRegions", "replicationRegions", "storageAccountType")
    gallery["not"] = {"required": ["targetRegions", "replicationRegions"]}
    gallery["anyOf"] = [{"not": {"required": ["storageAccountType"]}}, {"required": ["replicationRegions"]}]
    vnet = schemas["VnetConfig"]  # an ACI subnet needs the build subnet and no proxy VM
    _non_null(vnet, "subnetId", "containerInstanceSubnetId", "proxyVmSize")
    vnet["anyOf"] = [
        {"not": {"required": ["containerInstanceSubnetId"]}},
        {"required": ["subnetId"], "properties": {"proxyVmSize": {"const": ""}}},
    ]


def _key_patterns(node: Any) -> None:
    """A dict whose keys are checked (tag names) gets ``propertyNames``: pydantic's ``patternProperties``
    alone still lets any other key through."""
    if isinstance(node, list):
        for item in node:
            _key_patterns(item)
        return
    if not isinstance(node, dict):
        return
    keyed = node.get("patternProperties")
    if isinstance(keyed, dict) and len(keyed) == 1 and "additionalProperties" not in node:
        pattern, values = next(iter(keyed.items()))
        del node["patternProperties"]
        node["propertyNames"] = {"pattern": pattern}
        node["additionalProperties"] = values
    for child in node.values():
        _key_patterns(child)


def _strict_input(body: dict[str, Any]) -> dict[str, Any]:
    """What the rules add to the model's shape for a PUT, where a schema can say it: the template's location
    is one of AIB's regions, and it names exactly one user-assigned identity (``shared.models.rules``)."""
    from shared.models.regions import AIB_REGION_DISPLAY_NAMES, normalize_region

    regions = sorted({*AIB_REGION_DISPLAY_NAMES, *(normalize_region(r) for r in AIB_REGION_DISPLAY_NAMES)})
    props = body["properties"]
    props["location"] = {"title": "Location", "enum": regions}
    props["identity"] = {
        "type": "object",
        "required": ["type", "userAssignedIdentities"],
        "additionalProperties": False,
        "properties": {
            "type": {"const": "UserAssigned"},
            "userAssignedIdentities": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "propertyNames": {"pattern": _IDENTITY_ID},
                "additionalProperties": {"$ref": _REF.format(model="UserAssignedIdentity")},
            },
        },
    }
    return body


def _run_schema() -> dict[str, Any]:
    """kiln's own run resource (``GET {base}/runs/{runId}``); not part of AIB's API."""
    text: dict[str, Any] = {"type": ["string", "null"]}
    timed = {"startTime": text, "endTime": text, "state": text}
    error = {"type": "object", "properties": {k: text for k in ("code", "message", "phase", "target")}}
    target = {
        "type": "object",
        "properties": {
            **{k: text for k in ("runOutputName", "type", "state", "artifactId", "artifactUri")},
            "regions": {"type": "object", "additionalProperties": {"type": "string"}},
            "error": {"type": ["object", "null"]},
        },
    }
    props = {
        **{k: text for k in ("runId", "trigger", "message", "startTime", "endTime", "exactVersion")},
        "stagingResourceGroup": text,
        "cycle": text,  # the patch cycle that started the run
        # the input fingerprint (docs/cycles.md)
        "inputs": {
            "type": "object",
            "properties": {
                **{k: text for k in ("sourceVersion", "templateHash", "fingerprint")},
                "artifacts": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "runNumber": {"type": "integer"},
        "runState": {
            "enum": ["Running", "Canceling", "Succeeded", "PartiallySucceeded", "Failed", "Canceled"]
        },
        "runSubState": {
            "enum": ["Queued", "Building", "Customizing", "Optimizing", "Validating", "Distributing"]
        },
        "phases": {"type": "array", "items": {"type": "object", "properties": {"phase": text, **timed}}},
        "step": {
            "type": ["object", "null"],
            "properties": {"phase": text, "index": {"type": "integer"}, "name": text, "state": text},
        },
        "targets": {"type": "array", "items": target},
        "errors": {"type": "array", "items": error},
        # Only on a run whose build VM errorHandling "abort" kept for debugging.
        "keptBuildVm": {
            "type": "object",
            "properties": {k: text for k in ("resourceGroup", "vmName", "adminSecretName")},
        },
    }
    return _child_resource(props, required=["runId", "runState"])


def _cycle_schema() -> dict[str, Any]:
    """kiln's patch cycle resource (``…/patchCycles/{cycleId}``, docs/cycles.md)."""
    text: dict[str, Any] = {"type": ["string", "null"]}
    entry = {"type": "object", "properties": {k: text for k in ("template", "runId", "reason", "lastRunId")}}
    lists = (
        "started",
        "succeeded",
        "failed",
        "skippedUnchanged",
        "skippedInFlight",
        "skippedDisabled",
        "skipped",
    )
    props = {
        **{k: text for k in ("cycleName", "dueTime", "createdTime", "startTime", "endTime")},
        "state": {"enum": ["Pending", "Running", "Succeeded", "PartiallySucceeded", "Failed"]},
        "late": {"type": "boolean"},
        "lateBySeconds": {"type": "number"},
        "missedWindows": {"type": "integer"},
        "durationSeconds": {"type": ["number", "null"]},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        **{k: {"type": "array", "items": entry} for k in lists},
    }
    return _child_resource(props, required=["state", "dueTime", "counts"])


def _child_resource(props: dict[str, Any], *, required: list[str]) -> dict[str, Any]:
    """A kiln resource document (a run, a patch cycle): ARM's id, name and type around its properties."""
    return {
        "type": "object",
        "required": ["id", "name", "type", "properties"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "type": {"type": "string"},
            "properties": {"type": "object", "required": required, "properties": props},
        },
    }


def _param(name: str, where: str = "path", pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": where, "required": True, "schema": schema}


def _api_version() -> dict[str, Any]:
    return {"name": "api-version", "in": "query", "required": True, "schema": {"enum": list(SUPPORTED)}}


def _json(model: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}}}


def _op(
    op_id: str, params: list[dict[str, Any]], ok: dict[str, Any], body: str | None = None
) -> dict[str, Any]:
    responses: dict[str, Any] = dict(ok)
    for code in _ERRORS:
        responses[code] = {"description": "ARM error", **_json("ErrorResponse")}
    responses["401"] = {"description": "Missing or wrong function key", **_json("ErrorResponse")}
    op: dict[str, Any] = {
        "operationId": op_id,
        "parameters": [*params, _api_version()],
        "responses": responses,
    }
    if body:
        op["requestBody"] = {"required": True, **_json(body)}
    return op


def _paths() -> dict[str, Any]:
    sub = [_param("subscriptionId", pattern=_GUID)]
    rg = [*sub, _param("resourceGroupName", pattern=r"^[-\w.()]{0,89}[-\w()]$")]
    tpl = [*rg, _param("imageTemplateName", pattern=_NAME)]
    trg = [*tpl, _param("triggerName", pattern=_NAME)]
    out = [*tpl, _param("runOutputName", pattern=_NAME)]
    run = [*tpl, _param("runId", pattern=_NAME)]
    log_query = [
        {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
        {"name": "follow", "in": "query", "required": False, "schema": {"type": "boolean"}},
    ]
    log_ok = {
        "200": {
            "description": "customization.log from the offset; x-kiln-log-offset names the next offset, "
            "x-kiln-run-finished whether more can come",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
    loc = [*sub, _param("location", pattern="^[a-z0-9]{1,40}$"), _param("operationId", pattern=_GUID)]
    ok = {"200": {"description": "OK", **_json("ImageTemplate")}}
    created = {"201": {"description": "Created", **_json("ImageTemplate")}}
    accepted = {"202": {"description": "Accepted"}, "204": {"description": "No content"}}
    trigger_ok = {"200": {"description": "OK", **_json("Trigger")}}
    return {
        _PROVIDER + "/operations": {
            "get": _op("Operations_List", [], {"200": {"description": "OK", **_json("OperationList")}})
        },
        _SUB + _PROVIDER + "/imageTemplates": {
            "get": _op(
                "VirtualMachineImageTemplates_List",
                sub,
                {"200": {"description": "OK", **_json("ImageTemplateList")}},
            )
        },
        _TEMPLATES: {
            "get": _op(
                "VirtualMachineImageTemplates_ListByResourceGroup",
                rg,
                {"200": {"description": "OK", **_json("ImageTemplateList")}},
            )
        },
        _TEMPLATE: {
            "get": _op("VirtualMachineImageTemplates_Get", tpl, ok),
            "put": _op(
                "VirtualMachineImageTemplates_CreateOrUpdate", tpl, {**ok, **created}, "ImageTemplateInput"
            ),
            "patch": _op("VirtualMachineImageTemplates_Update", tpl, ok, "ImageTemplateUpdateParameters"),
            "delete": _op("VirtualMachineImageTemplates_Delete", tpl, accepted),
        },
        _TEMPLATE + "/triggers": {
            "get": _op(
                "Triggers_ListByImageTemplate", tpl, {"200": {"description": "OK", **_json("TriggerList")}}
            )
        },
        _TEMPLATE + "/triggers/{triggerName}": {
            "get": _op("Triggers_Get", trg, trigger_ok),
            "put": _op(
                "Triggers_CreateOrUpdate",
                trg,
                {**trigger_ok, "201": {"description": "Created", **_json("Trigger")}},
                "TriggerInput",
            ),
            "delete": _op("Triggers_Delete", trg, accepted),
        },
        _TEMPLATE + "/runOutputs": {
            "get": _op(
                "VirtualMachineImageTemplates_ListRunOutputs",
                tpl,
                {"200": {"description": "OK", **_json("RunOutputList")}},
            )
        },
        _TEMPLATE + "/runOutputs/{runOutputName}": {
            "get": _op(
                "VirtualMachineImageTemplates_GetRunOutput",
                out,
                {"200": {"description": "OK", **_json("RunOutput")}},
            )
        },
        _TEMPLATE + "/run": {
            "post": _op(
                "VirtualMachineImageTemplates_Run",
                [
                    *tpl,
                    {"name": "ifChanged", "in": "query", "required": False, "schema": {"type": "boolean"}},
                ],
                {
                    **accepted,
                    "200": {"description": "Skipped: no input changed (kiln's)", **_json("RunSkipped")},
                },
            )
        },
        _SUB + _PROVIDER + "/patchCycles": {
            "get": _op("Kiln_ListPatchCycles", sub, {"200": {"description": "OK", **_json("PatchCycleList")}})
        },
        _SUB + _PROVIDER + "/patchCycles/{cycleId}": {
            "get": _op(
                "Kiln_GetPatchCycle",
                [*sub, _param("cycleId", pattern=r"^[A-Za-z0-9-_.]{1,80}-\d{8}T\d{6}Z$")],
                {"200": {"description": "OK", **_json("PatchCycle")}},
            )
        },
        _SUB + _PROVIDER + "/outdatedImageTemplates": {
            "get": _op(
                "Kiln_ListOutdatedImageTemplates",
                sub,
                {"200": {"description": "OK", **_json("OutdatedImageTemplateList")}},
            )
        },
        _TEMPLATE + "/cancel": {"post": _op("VirtualMachineImageTemplates_Cancel", tpl, accepted)},
        _TEMPLATE + "/runs": {
            "get": _op("Kiln_ListRuns", tpl, {"200": {"description": "OK", **_json("RunList")}})
        },
        _TEMPLATE + "/runs/{runId}": {
            "get": _op("Kiln_GetRun", run, {"200": {"description": "OK", **_json("Run")}})
        },
        _TEMPLATE + "/runs/{runId}/log": {"get": _op("Kiln_GetRunLog", [*run, *log_query], log_ok)},
        _LOCATION + "/operations/{operationId}": {
            "get": _op(
                "Operations_GetStatus", loc, {"200": {"description": "OK", **_json("OperationStatus")}}
            )
        },
        _LOCATION + "/operationResults/{operationId}": {"get": _op("Operations_GetResult", loc, accepted)},
    }


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at ``GET /openapi.json``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kiln — Azure VM Image Builder compatible API",
            "version": SUPPORTED[0],
            "description": "Microsoft.VirtualMachineImages/imageTemplates as kiln serves it. Every operation "
            "but this document needs a function key (x-functions-key header or code query parameter).",
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            },
        },
        "security": [{"functionKey": []}],
        "paths": _paths(),
    }
