"""The entry points: validate a template, a trigger or a PATCH body and report every problem at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import ErrorDetail, ValidationFailed
from shared.models import rules
from shared.models.id_shapes import id_shape_problems
from shared.models.legacy import find_legacy
from shared.models.names import resource_name_problem
from shared.models.paths import Path, document_order, format_path, is_within
from shared.models.placeholders import find_placeholders
from shared.models.resources import ImageTemplateUpdate, Trigger
from shared.models.schedule import ScheduleError, parse_cron, time_zone
from shared.models.template import ImageTemplate
from shared.models.translate import translate, wire_field_names
from shared.models.versions import (
    LATEST_API_VERSION,
    SUPPORTED_API_VERSIONS,
    TEMPLATE_FIELDS_INTRODUCED,
    UPDATE_FIELDS_INTRODUCED,
    newer_fields,
    strip_newer_fields,
)

M = TypeVar("M", bound=BaseModel)
Rule = Callable[[Mapping[str, Any]], Iterator[rules.Finding]]
Located = tuple[Path, ErrorDetail]

_KNOWN_NAMES = wire_field_names([ImageTemplate, Trigger, ImageTemplateUpdate])
_TEMPLATE_READ_ONLY: tuple[Path, ...] = (
    ("id",),
    ("name",),
    ("type",),
    ("systemData",),
    ("properties", "provisioningState"),
    ("properties", "provisioningError"),
    ("properties", "lastRunStatus"),
    ("properties", "exactStagingResourceGroup"),
    ("properties", "source", "exactVersion"),
)
_TRIGGER_READ_ONLY: tuple[Path, ...] = (
    ("id",),
    ("name",),
    ("type",),
    ("systemData",),
    ("properties", "status"),
    ("properties", "provisioningState"),
)
_UPDATE_HINTS = {
    name: "a PATCH changes only identity, tags, properties.distribute and properties.vmProfile; the rest of "
    "a template is immutable (delete and re-create it)"
    for name in ("location", "source", "customize", "validate", "optimize", "buildTimeoutInMinutes")
}
_PLACEHOLDER_CODES = ("UnresolvedPlaceholder", "InvalidResourceId")
_TRIGGER_HINTS = {"location": "a trigger always lives in its image template's location; remove 'location'"}
# Deeper than any template; measured without recursion, before anything below recurses.
MAX_DEPTH = 64


def _check_depth(body: Any) -> None:
    """400 ``InvalidRequestContent`` for a body nested deeper than ``MAX_DEPTH`` (an explicit stack)."""
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        children = (
            value.values() if isinstance(value, Mapping) else value if isinstance(value, list | tuple) else ()
        )
        if not children:
            continue
        if depth > MAX_DEPTH:
            message = f"the request body is nested more than {MAX_DEPTH} levels deep"
            raise ValidationFailed([ErrorDetail("InvalidRequestContent", message)])
        pending += [(child, depth + 1) for child in children]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        # JSON has one number type: 4.0 is the integer 4 (as JSON Schema and ARM's deserializer read it).
        return int(value)
    return value


def _strip(body: dict[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    for path in paths:
        node: Any = body
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    identity = body.get("identity")
    ids = identity.get("userAssignedIdentities") if isinstance(identity, dict) else None
    if isinstance(ids, dict):
        for value in ids.values():
            if isinstance(value, dict):
                value.pop("principalId", None)
                value.pop("clientId", None)
    return body


def _check_api_version(api_version: str) -> None:
    if api_version not in SUPPORTED_API_VERSIONS:
        supported = ", ".join(SUPPORTED_API_VERSIONS)
        message = f"api-version '{api_version}' is not supported; use one of {supported}"
        raise ValidationFailed([ErrorDetail("UnsupportedApiVersion", message, "api-version")])


def _run(
    body: Any,
    model: type[M],
    *,
    pre: list[tuple[Path, str, str]],
    rule_set: Iterable[Rule],
    hints: Mapping[str, str] | None = None,
) -> M:
    """Structural validation plus rules; the findings in ``pre`` suppress what lies under their paths."""
    result: M | None = None
    later: list[Located] = []
    try:
        result = model.model_validate(body)
    except ValidationError as err:
        later += translate(err, body, _KNOWN_NAMES, hints)
    for rule in rule_set:
        later += [(p, ErrorDetail(code, msg, format_path(p))) for p, code, msg in rule(body)]
    # A placeholder inside a field that should not be there at all is beside the point.
    unknown = [p for p, d in later if d.code == "UnknownField"]
    pre = [f for f in pre if f[1] not in _PLACEHOLDER_CODES or not any(is_within(f[0], u) for u in unknown)]
    found: list[Located] = [(p, ErrorDetail(code, msg, format_path(p) or None)) for p, code, msg in pre]
    suppressed = [p for p, _, _ in pre]
    seen = {(d.target, d.code) for _, d in found}
    for path, detail in later:
        if any(is_within(path, s) for s in suppressed) or (detail.target, detail.code) in seen:
            continue
        seen.add((detail.target, detail.code))
        found.append((path, detail))
    if found:
        found.sort(key=lambda located: document_order(body, located[0]))
        raise ValidationFailed([d for _, d in found])
    assert result is not None
    return result


def _prepass(
    body: dict[str, Any], newer: Iterable[tuple[Path, str]], *, is_update: bool
) -> list[tuple[Path, str, str]]:
    pre = list(find_legacy(body, is_update=is_update))
    pre += [(p, "UnknownField", msg) for p, msg in newer]
    legacy_paths = [p for p, _, _ in pre]
    placeholders = [
        (p, "UnresolvedPlaceholder", msg)
        for p, msg in find_placeholders(body)
        if not any(is_within(p, lp) for lp in legacy_paths)
    ]
    shapes = id_shape_problems(body, [p for p, _, _ in placeholders])
    return pre + placeholders + [(p, "InvalidResourceId", msg) for p, msg in shapes]


def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationFailed([ErrorDetail("InvalidType", "the request body must be a JSON object")])
    _check_depth(body)
    plain: dict[str, Any] = _plain(body)
    return plain


def validate_template(
    body: Mapping[str, Any], *, api_version: str = LATEST_API_VERSION, name: str | None = None
) -> ImageTemplate:
    """Validate an image template resource body (the PUT body) against the AIB contract.

    Read-only fields in the body are dropped; defaults are applied.

    Args:
        body: the resource body as parsed JSON.
        api_version: the request's api-version; fields newer than it are unknown fields.
        name: the template name from the URL, checked when given.

    Returns:
        The validated template.

    Raises:
        ValidationFailed: with one ``ErrorDetail`` per problem, each targeted at its JSON path.
    """
    _check_api_version(api_version)
    plain = _strip(_require_object(body), _TEMPLATE_READ_ONLY)
    pre = _prepass(plain, newer_fields(plain, api_version, TEMPLATE_FIELDS_INTRODUCED), is_update=False)
    if name is not None:
        detail = resource_name_problem(name, "name")
        if detail is not None:
            pre.insert(0, (("name",), detail.code, detail.message))
    return _run(plain, ImageTemplate, pre=pre, rule_set=rules.TEMPLATE_RULES)


def validate_template_update(
    body: Mapping[str, Any], *, api_version: str = LATEST_API_VERSION
) -> ImageTemplateUpdate:
    """Validate a PATCH body (``ImageTemplateUpdateParameters``).

    Raises:
        ValidationFailed: with one detail per problem.
    """
    _check_api_version(api_version)
    plain = _strip(_require_object(body), ())
    newer = [*newer_fields(plain, api_version, UPDATE_FIELDS_INTRODUCED)]
    newer += [
        found
        for found in newer_fields(plain, api_version, TEMPLATE_FIELDS_INTRODUCED)
        if not any(is_within(found[0], p) for p, _ in newer)
    ]
    pre = _prepass(plain, newer, is_update=True)
    return _run(plain, ImageTemplateUpdate, pre=pre, rule_set=rules.UPDATE_RULES, hints=_UPDATE_HINTS)


def validate_trigger(body: Mapping[str, Any]) -> Trigger:
    """Validate a trigger PUT body: ``{"properties": {"kind": "SourceImage"}}``.

    Raises:
        ValidationFailed: with one detail per problem.
    """
    plain = _strip(_require_object(body), _TRIGGER_READ_ONLY)
    pre = [(p, "UnresolvedPlaceholder", msg) for p, msg in find_placeholders(plain)]
    return _run(plain, Trigger, pre=pre, rule_set=(schedule_rule,), hints=_TRIGGER_HINTS)


_SCHEDULE_FIELDS = ("schedule", "timeZone", "mode", "cycleName")


def schedule_rule(body: Mapping[str, Any]) -> Iterator[rules.Finding]:
    """A Schedule trigger needs a schedule kiln can evaluate; a SourceImage trigger takes none of that."""
    props = body.get("properties")
    if not isinstance(props, Mapping):
        return
    kind = props.get("kind")
    if kind == "SourceImage":
        for name in _SCHEDULE_FIELDS:
            if name in props:
                yield ("properties", name), "UnknownField", f"'{name}' belongs to a Schedule trigger only"
        return
    if kind != "Schedule":
        return
    expression, zone = props.get("schedule"), props.get("timeZone", "UTC")
    if expression is None:
        yield ("properties", "schedule"), "RequiredField", "a Schedule trigger needs 'schedule' (cron)"
    if isinstance(zone, str):
        try:
            time_zone(zone)
        except ScheduleError as exc:
            yield ("properties", "timeZone"), "InvalidTimeZone", str(exc)
            zone = None
    if isinstance(expression, str) and isinstance(zone, str):
        try:
            parse_cron(expression, zone)
        except ScheduleError as exc:
            yield ("properties", "schedule"), "InvalidSchedule", str(exc)
    cycle = props.get("cycleName")
    if isinstance(cycle, str):
        detail = resource_name_problem(cycle, "properties.cycleName")
        if detail is not None:
            yield ("properties", "cycleName"), detail.code, detail.message


def template_to_wire(t: ImageTemplate, *, api_version: str = LATEST_API_VERSION) -> dict[str, Any]:
    """The template as AIB's camelCase JSON for ``api_version``: defaults visible, read-only fields when set.

    Raises:
        ValidationFailed: ``api_version`` is not supported.
    """
    _check_api_version(api_version)
    wire = t.model_dump(mode="json", by_alias=True, exclude_none=True)
    return strip_newer_fields(wire, api_version, TEMPLATE_FIELDS_INTRODUCED)
