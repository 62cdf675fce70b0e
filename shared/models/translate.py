"""Turn pydantic's errors into ARM error details with AIB's words (never a raw pydantic dump)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shared.errors import ErrorDetail
from shared.models.customizers import CUSTOMIZER_TYPES, VALIDATOR_TYPES
from shared.models.distribute import DISTRIBUTE_TYPES
from shared.models.paths import Path, format_path
from shared.models.sources import SOURCE_TYPES

OUR_CODES = frozenset(
    {"InvalidValue", "InvalidResourceId", "OutOfRange", "UnsupportedRegion", "RequiredField", "InvalidType"}
)
_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "datetime_type": "a date-time",
    "datetime_parsing": "an ISO 8601 date-time",
    "none_required": "null",
}
_LENGTH_WORDS = {"too_short": "at least {min_length} item(s)", "too_long": "at most {max_length} item(s)"}
_RANGE_WORDS = {"greater_than_equal": ("ge", "≥"), "less_than_equal": ("le", "≤")}
_UNKNOWN_HINTS = {
    "apiVersion": "send the api-version as the 'api-version' query parameter, not in the body",
    "dependsOn": "'dependsOn' belongs to ARM deployment templates; submit only the resource body",
    "$schema": "this looks like a whole ARM deployment template; submit only the imageTemplates resource",
}
_CHOICES = {
    "source": SOURCE_TYPES,
    "customize": CUSTOMIZER_TYPES,
    "inVMValidations": VALIDATOR_TYPES,
    "distribute": DISTRIBUTE_TYPES,
    "versioning": ("Latest", "Source"),
}


def wire_field_names(models: Iterable[type[BaseModel]]) -> frozenset[str]:
    """Every wire name of ``models`` and the models nested in them (for 'did you mean' hints)."""
    seen: set[type[BaseModel]] = set()
    names: set[str] = set()
    todo = list(models)
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            names.add(field.alias or name)
            todo.extend(_nested_models(field.annotation))
    return frozenset(names)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found.extend(_nested_models(arg))
    return found


def to_path(loc: tuple[int | str, ...], body: Any) -> Path:
    """Map pydantic's ``loc`` onto the body, dropping discriminator tags and ``[key]`` markers."""
    path: list[str | int] = []
    node = body
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, Mapping) and isinstance(part, str) and part not in node:
            tags = [node.get(k) for k in ("type", "scheme", "kind")]
            if part in tags:
                continue
        path.append(part)
        if isinstance(node, Mapping) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(path)


def translate(
    err: ValidationError, body: Any, known_names: frozenset[str], hints: Mapping[str, str] | None = None
) -> list[tuple[Path, ErrorDetail]]:
    """Translate every error of ``err`` (raised validating ``body``) into (path, ErrorDetail).

    Args:
        err: pydantic's error.
        body: the JSON that was validated (to map pydantic locations onto it).
        known_names: wire names for "did you mean" suggestions on unknown fields.
        hints: extra advice for particular unknown field names in this kind of body.
    """
    merged = {**_UNKNOWN_HINTS, **(hints or {})}
    out = []
    for e in err.errors(include_url=False):
        path = to_path(e["loc"], body)
        out.append(_one(e, path, known_names, merged))
    return out


def _short(value: Any) -> str:
    """The offending value as JSON people read it (``null``, ``true``, ``'text'``), shortened."""
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "an array"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 80 else text[:77] + "..."


def _one(
    e: ErrorDetails, path: Path, known: frozenset[str], hints: Mapping[str, str]
) -> tuple[Path, ErrorDetail]:
    kind = e["type"]
    ctx = e.get("ctx") or {}
    value = e.get("input")
    if kind in OUR_CODES:
        return path, ErrorDetail(code=kind, target=format_path(path), message=e["msg"])
    if kind == "missing":
        return path, ErrorDetail("RequiredField", f"'{path[-1]}' is required", format_path(path))
    if kind == "extra_forbidden":
        return path, _unknown(path, known, hints)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = str(ctx.get("discriminator", "'type'")).strip("'")
        choices = ", ".join(_CHOICES.get(_container(path), ()))
        full = (*path, key)
        if kind == "union_tag_not_found":
            if isinstance(value, Mapping):
                message = f"'{key}' is required: one of {choices}"
                return full, ErrorDetail("RequiredField", message, format_path(full))
            message = f"must be an object; got {_short(value)}"
            return path, ErrorDetail("InvalidType", message, format_path(path))
        message = f"{_short(ctx.get('tag'))} is not a valid {key}; expected one of {choices} (case-sensitive)"
        return full, ErrorDetail("InvalidValue", message, format_path(full))
    if kind == "literal_error":
        return path, _literal(path, value, str(ctx.get("expected", "")))
    if kind in _TYPE_WORDS:
        message = f"must be {_TYPE_WORDS[kind]}; got {_short(value)}"
        return path, ErrorDetail("InvalidType", message, format_path(path))
    if kind in _LENGTH_WORDS:
        message = "must have " + _LENGTH_WORDS[kind].format(**ctx)
        return path, ErrorDetail("InvalidValue", message, format_path(path))
    if kind in _RANGE_WORDS:
        key, sign = _RANGE_WORDS[kind]
        message = f"must be {sign} {ctx.get(key)}; got {_short(value)}"
        return path, ErrorDetail("OutOfRange", message, format_path(path))
    return path, ErrorDetail("InvalidValue", f"{e['msg']}; got {_short(value)}", format_path(path))


def _container(path: Path) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return ""


def _unknown(path: Path, known: frozenset[str], hints: Mapping[str, str]) -> ErrorDetail:
    key = str(path[-1])
    where = format_path(path[:-1]) or "the resource body"
    message = f"'{key}' is not a field of {where}"
    if key in hints:
        message += f"; {hints[key]}"
    else:
        same_case = sorted(n for n in known if n.lower() == key.lower() and n != key)
        if same_case:
            message += f"; field names are case-sensitive: use '{same_case[0]}'"
        else:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
            if close:
                message += f"; did you mean '{close[0]}'?"
    return ErrorDetail("UnknownField", message, format_path(path))


def _literal(path: Path, value: Any, expected: str) -> ErrorDetail:
    message = f"must be one of {expected} (case-sensitive); got {_short(value)}"
    if isinstance(value, str):
        for option in expected.replace(" or ", ", ").split(", "):
            if option.strip("'").lower() == value.lower():
                message += f"; use {option}"
                break
    return ErrorDetail("InvalidValue", message, format_path(path))
