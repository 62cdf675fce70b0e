"""ARM template expressions, the small set azuresim evaluates.

Supported: string literals (``'it''s'``), integers, ``true``/``false``, and the functions ``parameters``,
``variables``, ``resourceId``, ``concat``, ``format``, ``toLower``, ``toUpper``, ``resourceGroup()``,
``subscription()`` and ``reference`` (a resource's properties), followed by ``.member`` / ``['member']`` /
``[index]`` access. A string is an expression when it is wrapped in ``[...]``; ``[[`` escapes a literal ``[``.
Anything else is an ``InvalidTemplate`` error naming the expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azuresim.errors import SimError
from azuresim.state import canonicalize

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_][\w]*)|(?P<op>[().,\[\]]))"
)


def invalid(message: str) -> SimError:
    return SimError(400, "InvalidTemplate", f"Deployment template validation failed: '{message}'.")


@dataclass
class Context:
    sub: str
    rg: str
    location: str
    parameters: dict[str, Any]
    variables: dict[str, Any]
    reference: Callable[[str], Any] = field(default=lambda _id: None)
    _evaluating: set[str] = field(default_factory=set)


def resource_id(sub: str, rg: str, type_name: str, names: list[str]) -> str:
    """The id ``resourceId(type, names...)`` gives: types and names interleaved below the namespace."""
    ns, *types = type_name.split("/")
    if len(types) != len(names) or not types:
        raise invalid(f"resourceId('{type_name}', ...) needs {len(types)} name segment(s), got {len(names)}")
    pairs = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return canonicalize(f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{pairs}")


class _Parser:
    def __init__(self, text: str, ctx: Context) -> None:
        self.text, self.ctx = text, ctx
        self.tokens = self._lex(text)
        self.pos = 0

    def _lex(self, text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text.rstrip()):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise invalid(f"The template language expression '{text}' is not valid at position {pos}")
            kind = m.lastgroup or ""
            out.append((kind, m.group(kind)))
            pos = m.end()
        return out

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "end" or (value is not None and tok[1] != value):
            wanted = f"'{value}'" if value else "more"
            raise invalid(f"The template language expression '{self.text}' is not valid: expected {wanted}")
        self.pos += 1
        return tok

    def parse(self) -> Any:
        value = self.expr()
        if self.peek()[0] != "end":
            raise invalid(f"The template language expression '{self.text}' has unexpected '{self.peek()[1]}'")
        return value

    def expr(self) -> Any:
        kind, tok = self.take()
        if kind == "str":
            value: Any = tok[1:-1].replace("''", "'")
        elif kind == "num":
            value = int(tok)
        elif kind == "name" and tok.lower() in ("true", "false") and self.peek()[1] != "(":
            value = tok.lower() == "true"
        elif kind == "name":
            self.take("(")
            args: list[Any] = []
            while self.peek()[1] != ")":
                if self.peek()[0] == "end":
                    self.take(")")
                args.append(self.expr())
                if self.peek()[1] != ")":
                    self.take(")" if self.peek()[0] == "end" else ",")
            self.take(")")
            value = call(tok, args, self.ctx)
        else:
            raise invalid(f"The template language expression '{self.text}' is not valid near '{tok}'")
        return self.access(value)

    def access(self, value: Any) -> Any:
        while self.peek()[1] in (".", "["):
            if self.take()[1] == ".":
                key: Any = self.take()[1]
            else:
                key = self.expr()
                self.take("]")
            value = member(value, key, self.text)
        return value


def member(value: Any, key: Any, text: str) -> Any:
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k).lower() == str(key).lower():
                return v
    raise invalid(f"The language expression property '{key}' doesn't exist (in '{text}')")


def _lookup(table: dict[str, Any], name: Any, what: str) -> Any:
    for k, v in table.items():
        if k.lower() == str(name).lower():
            return v
    raise invalid(f"The template {what} '{name}' is not found")


def _variable(name: Any, ctx: Context) -> Any:
    key = str(name).lower()
    if key in ctx._evaluating:
        raise invalid(f"The template variable '{name}' refers to itself")
    ctx._evaluating.add(key)
    try:
        return evaluate(_lookup(ctx.variables, name, "variable"), ctx)
    finally:
        ctx._evaluating.discard(key)


def _resource_id(args: list[Any], ctx: Context) -> str:
    """``resourceId([sub,] [rg,] type, names...)``: the first argument with a ``/`` is the type."""
    at = next((i for i, a in enumerate(args) if isinstance(a, str) and "/" in a), None)
    if at is None or at > 2:
        raise invalid("resourceId() needs a resource type such as 'Microsoft.Network/virtualNetworks'")
    sub, rg = (str(args[0]), str(args[1])) if at == 2 else (ctx.sub, str(args[0]) if at == 1 else ctx.rg)
    return resource_id(sub, rg, str(args[at]), [str(a) for a in args[at + 1 :]])


def call(name: str, args: list[Any], ctx: Context) -> Any:
    fn = name.lower()
    if fn == "parameters":
        return _lookup(ctx.parameters, args[0], "parameter")
    if fn == "variables":
        return _variable(args[0], ctx)
    if fn == "resourceid":
        return _resource_id(args, ctx)
    if fn == "concat":
        if args and all(isinstance(a, list) for a in args):
            return [x for a in args for x in a]
        return "".join(str(a) for a in args)
    if fn == "format":
        return re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1)) + 1]), str(args[0]))
    if fn in ("tolower", "toupper"):
        return str(args[0]).lower() if fn == "tolower" else str(args[0]).upper()
    if fn == "resourcegroup":
        rg_id = f"/subscriptions/{ctx.sub}/resourceGroups/{ctx.rg}"
        return {
            "id": rg_id,
            "name": ctx.rg,
            "location": ctx.location,
            "type": "Microsoft.Resources/resourceGroups",
        }
    if fn == "subscription":
        return {"id": f"/subscriptions/{ctx.sub}", "subscriptionId": ctx.sub}
    if fn == "reference":
        found = ctx.reference(str(args[0]))
        if found is None:
            raise invalid(f"The resource '{args[0]}' is not defined in the template")
        return found
    raise invalid(f"The template function '{name}' is not supported by azuresim")


def evaluate(value: Any, ctx: Context) -> Any:
    """Evaluate every expression inside a template value (strings, lists and objects, recursively)."""
    if isinstance(value, str):
        if value.startswith("[["):
            return value[1:]
        if value.startswith("[") and value.endswith("]"):
            return _Parser(value[1:-1], ctx).parse()
        return value
    if isinstance(value, list):
        return [evaluate(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: evaluate(v, ctx) for k, v in value.items()}
    return value
