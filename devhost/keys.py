"""Function, master and system keys, checked the way the Functions host checks them.

Keys live in ``STATE/keys.json``; keys given on the command line override the stored ones, missing ones are
generated once and persisted so URLs handed out (management URLs, webhook URLs) stay valid across restarts.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

# System keys the real host creates for its extensions' webhooks.
DURABLE_SYSTEM_KEY = "durabletask_extension"
EVENTGRID_SYSTEM_KEY = "eventgrid_extension"


@dataclass
class Keys:
    function_key: str
    master_key: str
    system_keys: dict[str, str]

    def presented(self, request: web.Request) -> str | None:
        """The key a caller sent: ``x-functions-key`` header first, then the ``code`` query parameter."""
        return request.headers.get("x-functions-key") or request.query.get("code")

    def allows(self, request: web.Request, level: str) -> bool:
        """Whether ``request`` may call at auth ``level``: anonymous, function, admin or system:NAME.

        Function level accepts the function key or the master key; admin only the master key; a system level
        (an extension webhook) its system key or the master key.
        """
        level = level.lower()
        if level == "anonymous":
            return True
        key = self.presented(request)
        if not key:
            return False
        accepted = [self.master_key]
        if level == "function":
            accepted.append(self.function_key)
        elif level.startswith("system:"):
            accepted.append(self.system_keys.get(level.removeprefix("system:"), ""))
        return any(candidate and hmac.compare_digest(key, candidate) for candidate in accepted)

    def is_system_key(self, key: str, name: str) -> bool:
        """Whether ``key`` is the system key ``name`` (compared in constant time)."""
        expected = self.system_keys.get(name, "")
        return bool(expected) and hmac.compare_digest(key.encode(), expected.encode())


def load_keys(state_dir: Path, *, function_key: str | None = None, master_key: str | None = None) -> Keys:
    """Read ``STATE/keys.json``, apply the given keys, generate what is missing, and write it back."""
    path = state_dir / "keys.json"
    stored: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
    system = dict(stored.get("systemKeys") or {})  # type: ignore[call-overload]
    for name in (DURABLE_SYSTEM_KEY, EVENTGRID_SYSTEM_KEY):
        system.setdefault(name, _new_key())
    keys = Keys(
        function_key=function_key or str(stored.get("functionKey") or _new_key()),
        master_key=master_key or str(stored.get("masterKey") or _new_key()),
        system_keys={str(k): str(v) for k, v in system.items()},
    )
    document = {
        "functionKey": keys.function_key,
        "masterKey": keys.master_key,
        "systemKeys": keys.system_keys,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    return keys


def _new_key() -> str:
    # The host's keys are 40+ URL-safe characters; this keeps them safe inside query strings.
    # A key never starts with "-": given after --function-key on a command line it would
    # read as an option.
    while (key := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return key
