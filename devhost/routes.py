"""HTTP trigger route templates, matched as ASP.NET Core routing (the Functions host) matches them.

Supported: literal segments (case-insensitive), ``{name}``, ``{name?}`` (optional, trailing), ``{*rest}``
(catch-all), and constraints ``int long alpha bool guid decimal double float datetime minlength(n)
maxlength(n) length(n) min(n) max(n) range(a,b) regex(expr)``, combinable with ``:``
(``{id:int:min(1)}``). Inside ``regex(...)`` braces are doubled as in ASP.NET (``{{3}}``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote


class RouteError(ValueError):
    """A route template devhost cannot parse."""


@dataclass(frozen=True)
class _Param:
    name: str
    checks: tuple[Callable[[str], bool], ...]
    optional: bool
    catch_all: bool


@dataclass
class RouteTemplate:
    """A compiled template; ``match`` returns the route parameters or None."""

    template: str
    pattern: re.Pattern[str]
    params: dict[str, _Param] = field(default_factory=dict)
    precedence: tuple[int, ...] = ()

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path.strip("/"))
        if found is None:
            return None
        values: dict[str, str] = {}
        for name, param in self.params.items():
            raw = found.group(name)
            if raw is None:
                continue
            value = unquote(raw)
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values


def compile_route(template: str) -> RouteTemplate:
    """Compile a route template (without the route prefix)."""
    regex_parts: list[str] = []
    params: dict[str, _Param] = {}
    precedence: list[int] = []
    for index, segment in enumerate(_segments(template.strip("/"))):
        sep = "/" if index else ""
        if isinstance(segment, str):
            regex_parts.append(re.escape(sep + segment))
            precedence.append(1)
            continue
        group = f"p{len(params)}"
        params[group] = segment
        body = f"(?P<{group}>.*)" if segment.catch_all else f"(?P<{group}>[^/]+)"
        if segment.optional or segment.catch_all:
            regex_parts.append(f"(?:{re.escape(sep)}{body})?")
        else:
            regex_parts.append(re.escape(sep) + body)
        precedence.append(5 if segment.catch_all else 4 if segment.optional else 2 if segment.checks else 3)
    pattern = re.compile("".join(regex_parts), re.IGNORECASE)
    return RouteTemplate(template, pattern, params, tuple(precedence))


def _segments(template: str) -> list[str | _Param]:
    segments: list[str | _Param] = []
    for raw in _split_outside_braces(template):
        if raw.startswith("{") and raw.endswith("}"):
            segments.append(_parse_param(raw[1:-1], template))
        elif "{" in raw or "}" in raw:
            raise RouteError(f"route '{template}': a parameter must fill a whole segment ('{raw}')")
        elif raw:
            segments.append(raw)
    return segments


def _split_outside_braces(template: str) -> list[str]:
    parts, current, depth, i = [], "", 0, 0
    while i < len(template):
        char = template[i]
        if depth and char in "{}" and template[i : i + 2] in ("{{", "}}"):
            current += char
            i += 2
            continue
        depth += 1 if char == "{" else -1 if char == "}" else 0
        if char == "/" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
        i += 1
    if depth:
        raise RouteError(f"route '{template}' has unbalanced braces")
    return [*parts, current]


def _parse_param(text: str, template: str) -> _Param:
    text = text.replace("{{", "{").replace("}}", "}")
    catch_all = text.startswith("*")
    text = text.lstrip("*")
    optional = text.endswith("?")
    text = text.removesuffix("?")
    name, *constraints = _split_constraints(text)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RouteError(f"route '{template}': invalid parameter name '{name}'")
    checks = tuple(_constraint(c, template) for c in constraints)
    return _Param(name, checks, optional, catch_all)


def _split_constraints(text: str) -> list[str]:
    parts, current, depth = [], "", 0
    for char in text:
        depth += 1 if char == "(" else -1 if char == ")" else 0
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _constraint(text: str, template: str) -> Callable[[str], bool]:
    name, _, arg = text.partition("(")
    arg = arg[:-1] if arg.endswith(")") else arg
    simple = _SIMPLE.get(name.lower())
    if simple is not None and not arg:
        return simple
    if name.lower() == "regex":
        compiled = re.compile(arg, re.IGNORECASE)
        return lambda v: compiled.search(v) is not None
    numbers = [int(a) for a in arg.split(",") if a.strip().lstrip("-").isdigit()]
    bounded = {
        "minlength": lambda v: len(v) >= numbers[0],
        "maxlength": lambda v: len(v) <= numbers[0],
        "length": lambda v: len(v) == numbers[0] if len(numbers) == 1 else numbers[0] <= len(v) <= numbers[1],
        "min": lambda v: _is_int(v) and int(v) >= numbers[0],
        "max": lambda v: _is_int(v) and int(v) <= numbers[0],
        "range": lambda v: _is_int(v) and numbers[0] <= int(v) <= numbers[1],
    }
    check = bounded.get(name.lower())
    if check is None or not numbers:
        raise RouteError(f"route '{template}': unsupported constraint '{text}'")
    return check


def _is_int(value: str) -> bool:
    return re.fullmatch(r"-?\d+", value) is not None


def _is_decimal(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return re.fullmatch(r"-?\d+(\.\d+)?", value) is not None


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_SIMPLE: dict[str, Callable[[str], bool]] = {
    "int": lambda v: _is_int(v) and -(2**31) <= int(v) < 2**31,
    "long": lambda v: _is_int(v) and -(2**63) <= int(v) < 2**63,
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "bool": lambda v: v.lower() in ("true", "false"),
    "guid": _is_guid,
    "decimal": _is_decimal,
    "double": _is_decimal,
    "float": _is_decimal,
    "datetime": _is_datetime,
}
