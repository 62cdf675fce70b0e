"""REST API examples (``x-ms-examples``): the request body is ``parameters.parameters``.

GET and LIST examples have none, so their response bodies (``responses.<code>.body``, a list's ``value[]``)
are validated instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cli.template_files import arm
from cli.template_files.found import (
    TEMPLATE_TYPE,
    TRIGGER_TYPE,
    FoundTemplate,
    Kind,
    TemplateFileError,
    choose_api_version,
    join_path,
)


def is_rest_example(doc: Mapping[str, Any]) -> bool:
    """Whether ``doc`` has the ``x-ms-examples`` shape: ``parameters`` and ``responses`` objects."""
    return isinstance(doc.get("parameters"), Mapping) and isinstance(doc.get("responses"), Mapping)


def type_of(resource: Mapping[str, Any]) -> str:
    """The resource's ``type``, lower-cased (ARM types are case-insensitive); ``""`` when absent."""
    value = resource.get("type")
    return value.lower() if isinstance(value, str) else ""


def kind_of_body(body: Mapping[str, Any]) -> Kind:
    """``trigger`` for a body with ``properties.kind`` and no ``properties.source``, else ``template``."""
    properties = body.get("properties")
    if isinstance(properties, Mapping) and "kind" in properties and "source" not in properties:
        return "trigger"
    return "template"


def from_rest_example(doc: Mapping[str, Any], path: str, subs: arm.Substitutions) -> list[FoundTemplate]:
    """The request body of a REST example or, when it has none, every template/trigger in its responses.

    Raises:
        TemplateFileError: ``NoTemplateFound`` (e.g. a runOutputs example).
    """
    doc = arm.substitute(doc, subs)
    params = doc["parameters"]
    declared = params.get("api-version")
    version, notes = choose_api_version(declared)
    name = params.get("imageTemplateName") if isinstance(params.get("imageTemplateName"), str) else None
    request = params.get("parameters")
    if isinstance(request, Mapping):
        kind = _request_kind(doc, request)
        where = join_path(path, "parameters.parameters")
        return [FoundTemplate(kind, where, dict(request), version, "restExample", name, declared, notes)]
    found: list[FoundTemplate] = []
    for where, item in _response_bodies(doc["responses"], join_path(path, "responses")):
        rtype = type_of(item)
        if rtype in (TEMPLATE_TYPE.lower(), TRIGGER_TYPE.lower()):
            item_kind: Kind = "trigger" if rtype == TRIGGER_TYPE.lower() else "template"
            item_name = item.get("name") if isinstance(item.get("name"), str) else name
            found.append(
                FoundTemplate(
                    item_kind, where, dict(item), version, "restExample", item_name, declared, list(notes)
                )
            )
    if not found:
        raise TemplateFileError(
            "NoTemplateFound",
            "The REST example has no request body (parameters.parameters) and its responses hold no image "
            f"template or trigger (only {_response_types(doc['responses'])}).",
            target=join_path(path, "responses"),
        )
    return found


def _request_kind(doc: Mapping[str, Any], request: Mapping[str, Any]) -> Kind:
    operation = str(doc.get("operationId", ""))
    if "triggerName" in doc["parameters"] or operation.startswith("Triggers_"):
        return "trigger"
    if operation.endswith("_Update"):
        return "update"
    properties = request.get("properties")
    patchable = set(request) <= {"identity", "tags", "properties"}
    if patchable and "location" not in request and isinstance(properties, Mapping):
        if "kind" in properties and "source" not in properties:
            return "trigger"
        if set(properties) <= {"distribute", "vmProfile"}:
            return "update"
    return kind_of_body(request)


def _response_bodies(responses: Mapping[str, Any], path: str) -> list[tuple[str, Mapping[str, Any]]]:
    out: list[tuple[str, Mapping[str, Any]]] = []
    for code, response in responses.items():
        body = response.get("body") if isinstance(response, Mapping) else None
        if not isinstance(body, Mapping):
            continue
        where = f"{path}.{code}.body"
        values = body.get("value")
        if isinstance(values, list):
            out.extend((f"{where}.value[{i}]", v) for i, v in enumerate(values) if isinstance(v, Mapping))
        else:
            out.append((where, body))
    return out


def _response_types(responses: Mapping[str, Any]) -> str:
    types = {str(item.get("type", "untyped bodies")) for _, item in _response_bodies(responses, "")}
    return ", ".join(sorted(types)) or "no bodies"
