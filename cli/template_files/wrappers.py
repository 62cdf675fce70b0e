"""Find the image templates inside the wrappers people keep them in.

Four shapes occur in the wild: a raw resource body (what the REST API takes), an ARM deployment template
(``resources[]`` of type ``Microsoft.VirtualMachineImages/imageTemplates``), an ``x-ms-examples`` REST example
(``parameters.parameters`` is the request body) and a trigger body (``properties.kind``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cli.template_files import arm
from cli.template_files.envelope import DEPLOYMENT_FIELDS, check_type, raw_body
from cli.template_files.found import (
    LEGACY_TYPE,
    TEMPLATE_TYPE,
    TRIGGER_TYPE,
    FoundTemplate,
    Kind,
    TemplateFileError,
    choose_api_version,
    join_path,
)
from cli.template_files.rest_examples import from_rest_example, is_rest_example, type_of
from shared.errors import ErrorDetail


def find_templates(document: Any, *, params: Mapping[str, str] | None = None) -> list[FoundTemplate]:
    """Find every image template (or trigger / PATCH body) in a parsed file.

    Args:
        document: the parsed JSON of the file.
        params: ``--param`` values; they replace ``[parameters('x')]``, ``[variables('x')]`` and ``<x>``
            tokens and take precedence over a deployment template's ``defaultValue``.

    Returns:
        The bodies found, in file order, each with its path in the file.

    Raises:
        TemplateFileError: ``NoTemplateFound`` when the file holds no body to validate.
    """
    if isinstance(document, list):
        found = [t for i, item in enumerate(document) for t in _from_value(item, f"[{i}]", params)]
    else:
        found = _from_value(document, "", params)
    if not found:
        raise TemplateFileError("NoTemplateFound", "The file holds no image template.")
    return found


def _from_value(value: Any, path: str, params: Mapping[str, str] | None) -> list[FoundTemplate]:
    if not isinstance(value, Mapping):
        where = f" at {path}" if path else ""
        raise TemplateFileError(
            "NoTemplateFound",
            f"Expected a JSON object{where} (an image template, ARM deployment template or REST example), "
            f"found {type(value).__name__}.",
            target=path or None,
        )
    if _is_parameters_file(value):
        raise TemplateFileError(
            "NoTemplateFound",
            "This is an ARM deployment parameters file, not a template: validate the deployment template and "
            "pass the values with --param NAME=VALUE.",
            target=path or None,
        )
    if _is_deployment_template(value):
        return _from_deployment(value, path, params)
    if is_rest_example(value):
        return from_rest_example(value, path, arm.from_params(params))
    body = arm.substitute(value, arm.from_params(params))
    return [raw_body(body, path)]


def _is_parameters_file(doc: Mapping[str, Any]) -> bool:
    schema = doc.get("$schema")
    return isinstance(schema, str) and "deploymentparameters" in schema.lower()


def _is_deployment_template(doc: Mapping[str, Any]) -> bool:
    schema = doc.get("$schema")
    if isinstance(schema, str) and "deploymenttemplate" in schema.lower():
        return True
    return "resources" in doc and "contentVersion" in doc


def _from_deployment(
    doc: Mapping[str, Any],
    path: str,
    params: Mapping[str, str] | None,
    subs: arm.Substitutions | None = None,
) -> list[FoundTemplate]:
    subs = subs or arm.for_deployment(doc, params)
    found: list[FoundTemplate] = []
    seen_types: list[str] = []
    for res_path, resource, parent in _walk_resources(doc.get("resources"), join_path(path, "resources"), ""):
        resource = arm.substitute(resource, subs)
        rtype = type_of(resource)
        seen_types.append(str(resource.get("type")))
        if rtype in (TEMPLATE_TYPE.lower(), LEGACY_TYPE.lower()):
            found.append(_deployment_resource(resource, res_path, "template"))
        elif rtype == TRIGGER_TYPE.lower() or (parent == TEMPLATE_TYPE.lower() and rtype == "triggers"):
            found.append(_deployment_resource(resource, res_path, "trigger"))
        elif rtype == "microsoft.resources/deployments":
            found.extend(_nested_deployment(resource, res_path, params, subs))
    if not found:
        kinds = ", ".join(sorted(set(seen_types))) or "none"
        raise TemplateFileError(
            "NoTemplateFound",
            f"The deployment template declares no resource of type '{TEMPLATE_TYPE}' "
            f"(resource types: {kinds}).",
            target=join_path(path, "resources"),
        )
    return found


def _walk_resources(resources: Any, path: str, parent: str) -> list[tuple[str, Mapping[str, Any], str]]:
    """Every resource entry (also child ``resources``), as (path, entry, parent type); Bicep's symbolic
    names (``resources`` as an object) are walked too."""
    if isinstance(resources, Mapping):
        entries = [(f"{path}.{k}", v) for k, v in resources.items()]
    elif isinstance(resources, list):
        entries = [(f"{path}[{i}]", v) for i, v in enumerate(resources)]
    else:
        return []
    out: list[tuple[str, Mapping[str, Any], str]] = []
    for entry_path, entry in entries:
        if not isinstance(entry, Mapping):
            continue
        out.append((entry_path, entry, parent))
        out.extend(_walk_resources(entry.get("resources"), f"{entry_path}.resources", type_of(entry)))
    return out


def _nested_deployment(
    resource: Mapping[str, Any], path: str, params: Mapping[str, str] | None, outer: arm.Substitutions
) -> list[FoundTemplate]:
    """The image templates of an inline nested deployment.

    ARM evaluates an inline template's expressions in the parent's scope unless
    ``expressionEvaluationOptions.scope`` is ``inner``; then its own parameters take the values the
    deployment passes (``properties.parameters.x.value``), else their defaults.
    """
    properties = resource.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    template = properties.get("template")
    if not isinstance(template, Mapping):
        return []
    options = properties.get("expressionEvaluationOptions")
    inner = isinstance(options, Mapping) and str(options.get("scope", "")).lower() == "inner"
    subs = arm.for_deployment(template, params, values=_passed_values(properties)) if inner else outer
    try:
        return _from_deployment(template, f"{path}.properties.template", params, subs)
    except TemplateFileError:
        return []


def _passed_values(properties: Mapping[str, Any]) -> dict[str, Any]:
    passed = properties.get("parameters")
    if not isinstance(passed, Mapping):
        return {}
    return {
        str(name): spec["value"]
        for name, spec in passed.items()
        if isinstance(spec, Mapping) and "value" in spec and not arm.has_expression(spec["value"])
    }


def _deployment_resource(resource: Mapping[str, Any], path: str, kind: Kind) -> FoundTemplate:
    body = {k: v for k, v in resource.items() if k not in (*DEPLOYMENT_FIELDS, "type", "name", "resources")}
    declared = resource.get("apiVersion")
    version, notes = choose_api_version(declared)
    problems: list[ErrorDetail] = []
    if kind == "template":
        type_problem = check_type(resource.get("type"))
        problems.extend([type_problem] if type_problem else [])
    name = resource.get("name")
    if not isinstance(name, str) or arm.is_expression(name):
        name = None
    if "copy" in resource:
        notes.append("the resource's copy loop is not expanded; one instance was validated")
    return FoundTemplate(kind, path, body, version, "deploymentTemplate", name, declared, notes, problems)
