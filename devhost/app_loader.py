"""Import a Python v2 function app unchanged and read what a host needs from it and its host.json."""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost.routes import RouteTemplate, compile_route

DEFAULT_ROUTE_PREFIX = "api"
DEFAULT_HUB = "TestHubName"  # the extension's name when host.json sets none


@dataclass
class HttpFunction:
    function: func.Function
    route: RouteTemplate
    methods: frozenset[str] | None  # None = every method
    auth_level: str


@dataclass
class LoadedApp:
    functions: list[func.Function]
    route_prefix: str
    hub_name: str
    http: list[HttpFunction] = field(default_factory=list)
    timers: list[func.Function] = field(default_factory=list)
    eventgrid: dict[str, func.Function] = field(default_factory=dict)
    durable_names: list[str] = field(default_factory=list)


def load_app(app_dir: Path) -> LoadedApp:
    """Apply local.settings.json, import ``app_dir/function_app.py`` and classify its functions."""
    app_dir = app_dir.resolve()
    _apply_local_settings(app_dir / "local.settings.json")
    host = _read_host_json(app_dir / "host.json")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    module = importlib.import_module("function_app")
    registers = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if not registers:
        raise RuntimeError(f"{app_dir}/function_app.py defines no FunctionApp (app = func.FunctionApp())")
    functions = [f for register in registers for f in register.get_functions()]
    http_settings = host.get("extensions", {}).get("http", {})
    durable_settings = host.get("extensions", {}).get("durableTask", {})
    loaded = LoadedApp(
        functions=functions,
        route_prefix=str(http_settings.get("routePrefix", DEFAULT_ROUTE_PREFIX)).strip("/"),
        hub_name=resolve_setting(str(durable_settings.get("hubName") or DEFAULT_HUB)) or DEFAULT_HUB,
    )
    for function in functions:
        _classify(loaded, function)
    # More specific routes win, as in ASP.NET routing: literals before parameters before catch-alls.
    loaded.http.sort(key=lambda h: h.route.precedence)
    return loaded


def function_name(function: func.Function) -> str:
    """The function's name (the decorator or the Python name); never None once the app is built."""
    return str(function.get_function_name())


def _classify(loaded: LoadedApp, function: func.Function) -> None:
    trigger: Any = function.get_trigger()
    kind = trigger.type
    name = function_name(function)
    if kind == "httpTrigger":
        methods = trigger.methods
        loaded.http.append(
            HttpFunction(
                function=function,
                route=compile_route(str(trigger.route or name)),
                methods=frozenset(str(getattr(m, "value", m)).upper() for m in methods) if methods else None,
                auth_level=str(
                    getattr(trigger.auth_level, "value", trigger.auth_level) or "function"
                ).lower(),
            )
        )
    elif kind == "timerTrigger":
        loaded.timers.append(function)
    elif kind == "eventGridTrigger":
        loaded.eventgrid[name] = function
    elif kind in ("orchestrationTrigger", "activityTrigger"):
        loaded.durable_names.append(name)


def _read_host_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _apply_local_settings(path: Path) -> None:
    # As `func start` does: Values become environment variables; the real environment wins.
    if not path.exists():
        return
    values = json.loads(path.read_text()).get("Values", {})
    for key, value in values.items():
        os.environ.setdefault(str(key), str(value))


def resolve_setting(value: str) -> str:
    """Expand the host's %SETTING% references from the environment (unset ones become empty)."""
    return re.sub(r"%([^%]+)%", lambda m: os.environ.get(m.group(1), ""), value)
