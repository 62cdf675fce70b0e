"""The ``kiln`` CLI calling a kiln in Azure: with ``KILN_API_APP_ID`` every request carries a bearer token
for ``api://<app id>/.default`` (never ARM's audience), renewed before it expires; without it, none."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from cli import config
from cli.auth import AuthSettingError, EntraAuth, SignInRequired, kiln_scope
from cli.client import KilnClient
from cli.output import guarded

APP_ID = "0b7c6a1e-5f3d-4c2b-9a8e-7d6f5e4c3b2a"
SUB = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"


class TokenSource:
    """A TokenCredential (a framework object): hands out numbered tokens and records the scopes asked."""

    def __init__(self, lifetime: int = 3600, fail: bool = False) -> None:
        self.scopes: list[tuple[str, ...]] = []
        self.lifetime = lifetime
        self.fail = fail

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        if self.fail:
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")
        return AccessToken(f"token-{len(self.scopes)}", int(time.time()) + self.lifetime)


@pytest.fixture
def kiln_api() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A plain HTTP server answering every GET with an empty list, recording each request's headers."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            body = b'{"value": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _connection(url: str, api_app_id: str | None) -> config.Connection:
    return config.Connection(url=url, function_key="k", subscription=SUB, api_app_id=api_app_id)


@pytest.mark.parametrize(
    ("setting", "scope"),
    [
        (APP_ID, f"api://{APP_ID}/.default"),
        (f" {APP_ID.upper()} ", f"api://{APP_ID.upper()}/.default"),
        (f"api://{APP_ID}", f"api://{APP_ID}/.default"),
        (f"api://{APP_ID}/.default", f"api://{APP_ID}/.default"),
        ("api://kiln.contoso.com/", "api://kiln.contoso.com/.default"),
    ],
)
def test_the_scope_is_kilns_own_audience(setting: str, scope: str) -> None:
    assert kiln_scope(setting) == scope


@pytest.mark.parametrize(
    "setting", ["https://management.azure.com", "https://management.azure.com/.default", "kiln", "api://"]
)
def test_an_arm_audience_or_a_name_is_refused(setting: str) -> None:
    with pytest.raises(AuthSettingError, match="KILN_API_APP_ID"):
        kiln_scope(setting)


def test_requests_carry_a_bearer_token_for_kiln_and_the_function_key(
    kiln_api: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = kiln_api
    source = TokenSource()
    client = KilnClient(_connection(url, APP_ID), credential=lambda: source)

    client.list_templates("rg")
    client.list_templates("rg")

    assert [h["Authorization"] for h in seen] == ["Bearer token-1", "Bearer token-1"]  # one token, reused
    assert all(h["x-functions-key"] == "k" for h in seen)
    assert source.scopes == [(f"api://{APP_ID}/.default",)]


def test_a_token_about_to_expire_is_renewed(kiln_api: tuple[str, list[dict[str, str]]]) -> None:
    url, seen = kiln_api
    source = TokenSource(lifetime=60)  # inside the renewal margin
    client = KilnClient(_connection(url, APP_ID), credential=lambda: source)

    client.list_templates("rg")
    client.list_templates("rg")

    assert [h["Authorization"] for h in seen] == ["Bearer token-1", "Bearer token-2"]


def test_without_the_setting_no_credential_is_made_and_no_token_is_sent(
    kiln_api: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = kiln_api

    def no_credential() -> Any:
        raise AssertionError("a local kiln needs no Entra token")

    KilnClient(_connection(url, None), credential=no_credential).list_templates("rg")

    assert "Authorization" not in seen[0]


def test_a_failed_sign_in_is_a_usage_error_saying_how_to_sign_in(
    kiln_api: tuple[str, list[dict[str, str]]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, seen = kiln_api
    client = KilnClient(_connection(url, APP_ID), credential=lambda: TokenSource(fail=True))

    code = guarded(lambda: len(client.list_templates("rg")))

    assert code == 2 and seen == []
    assert "az login" in capsys.readouterr().err
    with pytest.raises(SignInRequired):
        EntraAuth(APP_ID, lambda: TokenSource(fail=True)).bearer()


def test_the_app_id_comes_from_the_flag_the_environment_or_the_profile(tmp_path: Any) -> None:
    profile = tmp_path / "kiln.env"
    profile.write_text(f'KILN_URL=https://kiln.example\nKILN_API_APP_ID="{APP_ID}"\n')
    env = {"KILN_FUNCTION_KEY": "k", "KILN_SUBSCRIPTION": SUB}
    args = argparse.Namespace(profile=str(profile))

    from_profile = config.resolve(args, env)
    from_env = config.resolve(args, {**env, "KILN_API_APP_ID": "api://kiln"})
    from_flag = config.resolve(argparse.Namespace(profile=str(profile), api_app_id="api://flag"), env)

    assert (from_profile.api_app_id, from_env.api_app_id, from_flag.api_app_id) == (
        APP_ID,
        "api://kiln",
        "api://flag",
    )
