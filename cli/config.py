"""Where the ``kiln`` client commands find kiln: flags, then ``KILN_*`` environment variables, then a profile.

The profile is a file of ``KEY=value`` lines (``export`` prefixes and quotes allowed, so a shell can
source it) written by ``python -m cli.local_stack up``; ``--profile``/``$KILN_PROFILE`` names it, otherwise
``.state/local/kiln.env`` in the current directory or the repository is read when present.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PROFILE = Path(".state") / "local" / "kiln.env"
API_VERSION = "2025-10-01"

# (attribute, flag, environment variable)
SETTINGS = (
    ("url", "--url", "KILN_URL"),
    ("function_key", "--function-key", "KILN_FUNCTION_KEY"),
    ("ca_file", "--ca-file", "KILN_CA_FILE"),
    ("subscription", "--subscription", "KILN_SUBSCRIPTION"),
    ("resource_group", "--resource-group", "KILN_RESOURCE_GROUP"),
    ("api_app_id", "--api-app-id", "KILN_API_APP_ID"),
)


class ConfigError(ValueError):
    """A connection setting is missing or unusable (a usage error: exit code 2)."""


@dataclass(frozen=True)
class Connection:
    """Everything a client needs to reach one kiln."""

    url: str
    function_key: str
    subscription: str
    resource_group: str | None = None
    ca_file: str | None = None
    api_version: str = API_VERSION
    api_app_id: str | None = None  # kiln in Azure: Entra tokens for api://<app id>/.default (cli/auth.py)


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """The connection flags every client subcommand accepts."""
    group = parser.add_argument_group("connection (default: KILN_* environment variables, then the profile)")
    group.add_argument("--url", help="kiln's base URL, e.g. https://127.0.0.1:7071 ($KILN_URL)")
    group.add_argument("--function-key", help="the function key sent as x-functions-key ($KILN_FUNCTION_KEY)")
    group.add_argument("--ca-file", help="CA certificate (PEM) to trust for HTTPS ($KILN_CA_FILE)")
    group.add_argument("--subscription", "-s", help="subscription id ($KILN_SUBSCRIPTION)")
    group.add_argument("--resource-group", "-g", help="resource group ($KILN_RESOURCE_GROUP)")
    group.add_argument(
        "--api-app-id", help="kiln's app registration in Azure: send Entra tokens for it ($KILN_API_APP_ID)"
    )
    group.add_argument("--profile", help=f"profile file of KEY=value lines (default {DEFAULT_PROFILE})")


def read_profile(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a profile; comments, blank lines and ``export`` prefixes are allowed."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if sep and key.strip():
            parsed = shlex.split(value) if value.strip() else [""]
            values[key.strip()] = parsed[0] if parsed else ""
    return values


def find_profile(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """The profile to read: the named one (which must exist), else the default one when present."""
    named = explicit or env.get("KILN_PROFILE")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"profile file {named} does not exist")
        return path
    for candidate in (Path.cwd() / DEFAULT_PROFILE, REPO / DEFAULT_PROFILE):
        if candidate.is_file():
            return candidate
    return None


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def resolve(
    args: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    *,
    warn: Callable[[str], None] = _stderr,
) -> Connection:
    """The connection from flags > environment > profile; raises ``ConfigError`` naming what is missing.

    An environment variable that overrides a different value of the profile is used, with a warning: it is
    usually an ``export`` of an earlier local stack, whose ports have changed since."""
    env = os.environ if env is None else env
    profile_path = find_profile(getattr(args, "profile", None), env)
    profile = read_profile(profile_path) if profile_path else {}
    found: dict[str, str | None] = {}
    for attr, _, var in SETTINGS:
        found[attr] = getattr(args, attr, None) or env.get(var) or profile.get(var) or None
    stale = [
        var
        for attr, _, var in SETTINGS
        if not getattr(args, attr, None) and env.get(var) and profile.get(var) and env[var] != profile[var]
    ]
    if stale:
        warn(
            f"warning: ${', $'.join(stale)} from the environment differ(s) from {profile_path}; "
            f"the environment wins. If that is an old export, `unset {' '.join(stale)}` "
            f"(or `. {profile_path}`)."
        )
    missing = [f"{flag} (or ${var})" for attr, flag, var in SETTINGS[:2] + SETTINGS[3:4] if not found[attr]]
    if missing:
        hint = "; start a local kiln with `python -m cli.local_stack up`" if profile_path is None else ""
        raise ConfigError(f"missing connection setting(s): {', '.join(missing)}{hint}")
    return Connection(
        url=str(found["url"]).rstrip("/"),
        function_key=str(found["function_key"]),
        subscription=str(found["subscription"]),
        resource_group=found["resource_group"],
        ca_file=found["ca_file"],
        api_app_id=found["api_app_id"],
    )
