"""Fixtures for the engine tests: the tiny test app, imported once, and engines over a temp database."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devhost.engine import DurableEngine

APP_FILE = Path(__file__).parents[1] / "apps" / "testapp" / "function_app.py"
MODULE_NAME = "devhost_engine_testapp"  # not "function_app": kiln's own app module has that name


def load_testapp() -> ModuleType:
    if MODULE_NAME in sys.modules:
        return sys.modules[MODULE_NAME]
    spec = importlib.util.spec_from_file_location(MODULE_NAME, APP_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    # app.get_functions() validates names and refuses a second call, so the list is built once here.
    module.FUNCTIONS = module.app.get_functions()  # type: ignore[attr-defined]
    return module


@pytest.fixture(scope="session")
def testapp() -> ModuleType:
    return load_testapp()


@pytest.fixture
def logs() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def make_engine(
    testapp: ModuleType, tmp_path: Path, logs: list[dict[str, Any]]
) -> Iterator[Callable[..., DurableEngine]]:
    """Builds started engines on ``tmp_path/durable.sqlite3`` (same file each call); stops them at the end."""
    engines: list[DurableEngine] = []

    def build(**overrides: Any) -> DurableEngine:
        options: dict[str, Any] = {
            "functions": testapp.FUNCTIONS,
            "db_path": tmp_path / "durable.sqlite3",
            "timer_poll_interval": 0.01,
            "log": logs.append,
        }
        options.update(overrides)
        engine = DurableEngine(**options)
        engine.start()
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.stop(timeout=5)


@pytest.fixture
def engine(make_engine: Callable[..., DurableEngine]) -> DurableEngine:
    return make_engine()
