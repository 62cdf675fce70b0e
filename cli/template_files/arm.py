"""Placeholder substitution: ``--param`` values and an ARM deployment template's own defaults.

Only three token shapes are ever replaced — ``[parameters('x')]``, ``[variables('x')]`` and ``<x>`` — and no
ARM function is evaluated: ``[concat(...)]``, ``[resourceGroup().location]`` and the like stay as written so
the validator reports them as unresolved placeholders at their path.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# ARM function names and parameter names are case-insensitive.
_ARM_REF = re.compile(r"\[\s*(parameters|variables)\s*\(\s*'([^']*)'\s*\)\s*\]", re.IGNORECASE)
_WHOLE_ARM_REF = re.compile(r"\s*" + _ARM_REF.pattern + r"\s*", re.IGNORECASE)
# The quickstarts' sed-style tokens: <region>, <imgBuilderId>, <subscriptionID> ...
_ANGLE = re.compile(r"<([A-Za-z_][A-Za-z0-9_.\-]*)>")


# Any reference, also inside a longer expression ("[concat(parameters('x'), '-img')]").
_ANY_REF = re.compile(r"\b(?:parameters|variables)\s*\(\s*'([^']*)'\s*\)", re.IGNORECASE)


def placeholder_names(text: str) -> set[str]:
    """The lower-case names a ``--param`` can replace in a file's text: every ``parameters('x')``,
    ``variables('x')`` and ``<x>`` it holds."""
    return {m.lower() for m in _ANY_REF.findall(text)} | {m.lower() for m in _ANGLE.findall(text)}


@dataclass(frozen=True)
class Substitutions:
    """What may replace a token. Keys are lower-case names.

    ``parameters``/``variables`` answer whole-value ``[parameters('x')]``/``[variables('x')]`` strings
    (any JSON value); ``tokens`` holds the user's ``--param`` values, which also replace tokens inside longer
    strings and ``<x>`` tokens. ``arm`` marks an ARM deployment template, where a leading ``[[`` escapes a
    literal ``[``.
    """

    parameters: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    tokens: Mapping[str, Any] = field(default_factory=dict)
    arm: bool = False


def from_params(params: Mapping[str, str] | None) -> Substitutions:
    """Substitutions for a file that is not an ARM deployment template: only the user's ``--param`` values."""
    tokens = {k.lower(): v for k, v in (params or {}).items()}
    return Substitutions(parameters=tokens, variables=tokens, tokens=tokens)


def is_expression(value: Any) -> bool:
    """Whether ``value`` is an ARM template expression (``[...]`` but not the ``[[`` literal escape)."""
    return (
        isinstance(value, str)
        and value.startswith("[")
        and value.endswith("]")
        and not value.startswith("[[")
    )


def for_deployment(
    template: Mapping[str, Any],
    params: Mapping[str, str] | None,
    *,
    values: Mapping[str, Any] | None = None,
) -> Substitutions:
    """Substitutions for an ARM deployment template: its plain defaults, overridden by ``--param`` values.

    A ``defaultValue`` or variable that is itself an expression is not used (we never evaluate ARM functions),
    so the reference to it stays a placeholder. ``--param`` values are converted to the parameter's declared
    ``int``/``bool``/``array``/``object`` type. ``values`` (plain JSON, e.g. what a nested deployment passes)
    override the defaults and are overridden by ``--param``.
    """
    declared = template.get("parameters")
    declared = declared if isinstance(declared, Mapping) else {}
    types = {
        str(k).lower(): str(v.get("type", "")).lower() for k, v in declared.items() if isinstance(v, Mapping)
    }
    tokens = {k.lower(): _coerce(v, types.get(k.lower(), "")) for k, v in (params or {}).items()}
    parameters: dict[str, Any] = {}
    for name, spec in declared.items():
        if isinstance(spec, Mapping) and "defaultValue" in spec and not has_expression(spec["defaultValue"]):
            parameters[str(name).lower()] = spec["defaultValue"]
    parameters.update({k.lower(): v for k, v in (values or {}).items()})
    parameters.update(tokens)
    variables: dict[str, Any] = {}
    plain = Substitutions(parameters=parameters, tokens=tokens, arm=True)
    raw_variables = template.get("variables")
    for name, value in (raw_variables if isinstance(raw_variables, Mapping) else {}).items():
        resolved = substitute(value, plain)
        if not has_expression(resolved):
            variables[str(name).lower()] = resolved
    variables.update(tokens)
    return Substitutions(parameters=parameters, variables=variables, tokens=tokens, arm=True)


def substitute(value: Any, subs: Substitutions) -> Any:
    """Return a copy of ``value`` with every resolvable token replaced, in values and in object keys."""
    if isinstance(value, Mapping):
        return {_key(k, subs): substitute(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, subs) for v in value]
    if isinstance(value, str):
        return _substitute_string(value, subs)
    return value


def _key(key: Any, subs: Substitutions) -> str:
    replaced = _substitute_string(str(key), subs)
    return replaced if isinstance(replaced, str) else _as_text(replaced)


def _substitute_string(text: str, subs: Substitutions) -> Any:
    if subs.arm and text.startswith("[["):
        return text[1:]
    whole = _WHOLE_ARM_REF.fullmatch(text)
    if whole:
        table = subs.parameters if whole.group(1).lower() == "parameters" else subs.variables
        name = whole.group(2).lower()
        return copy.deepcopy(table[name]) if name in table else text
    if not subs.tokens:
        return text
    text = _ARM_REF.sub(lambda m: _inner(m, m.group(2), subs), text)
    return _ANGLE.sub(lambda m: _inner(m, m.group(1), subs), text)


def _inner(match: re.Match[str], name: str, subs: Substitutions) -> str:
    value = subs.tokens.get(name.lower())
    if value is None or isinstance(value, Mapping | list):
        return match.group(0)
    return _as_text(value)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def has_expression(value: Any) -> bool:
    """Whether ``value`` is, or contains anywhere (keys included), an ARM template expression."""
    if isinstance(value, Mapping):
        return any(has_expression(k) or has_expression(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_expression(v) for v in value)
    return is_expression(value)


def _coerce(value: str, declared_type: str) -> Any:
    if declared_type == "int":
        try:
            return int(value)
        except ValueError:
            return value
    if declared_type == "bool" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if declared_type in ("array", "object"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
