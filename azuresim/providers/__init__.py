"""Resource providers. Each module exposes ``register(router)``; ``register_all`` calls every one present."""

from __future__ import annotations

import importlib
import pkgutil
import sys

from azuresim.router import Router


def register_all(router: Router) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # one broken provider must not take the others down; say so loudly
            print(f"azuresim: provider {info.name} failed to load: {exc!r}", file=sys.stderr)
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(router)
