"""How client errors are printed, and where the connection settings come from."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli import main as kiln
from cli.client import ApiError, ConnectionFailed
from cli.config import ConfigError, read_profile, resolve
from cli.output import exit_code, format_api_error

VALIDATION = {
    "error": {
        "code": "ValidationFailed",
        "message": "Validation failed with 2 problem(s).",
        "details": [
            {"code": "RequiredField", "target": "identity", "message": "'identity' is required"},
            {"code": "InvalidValue", "message": "a detail without a target"},
        ],
    }
}


def _args(**given: str | None) -> argparse.Namespace:
    names = ("url", "function_key", "ca_file", "subscription", "resource_group", "profile")
    return argparse.Namespace(**{n: given.get(n) for n in names})


def test_an_arm_error_prints_code_message_and_every_detail_at_its_target() -> None:
    error = ApiError(
        400, VALIDATION, method="PUT", url="https://kiln/subscriptions/s/x?api-version=2025-10-01"
    )
    assert format_api_error(error) == [
        "error: ValidationFailed: Validation failed with 2 problem(s).",
        "  identity: 'identity' is required [RequiredField]",
        "  (body): a detail without a target [InvalidValue]",
        "  HTTP 400 (PUT https://kiln/subscriptions/s/x)",
    ]


def test_an_error_body_that_is_not_arm_shaped_still_gives_status_and_text() -> None:
    error = ApiError(502, "Bad Gateway")
    assert format_api_error(error) == ["error: Http502: Bad Gateway", "  HTTP 502"]
    assert ApiError(500, None).message == ""


def test_service_errors_exit_1_and_usage_errors_exit_2() -> None:
    assert exit_code(ApiError(409, {})) == 1
    assert exit_code(ConnectionFailed("refused")) == 1
    assert exit_code(ConfigError("missing --url")) == 2


def test_a_refused_connection_names_the_url_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--url", "http://127.0.0.1:9", "--function-key", "k", "--subscription", "s", "-g", "rg"]
    assert kiln.main(["template", "show", "t", *flags]) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: cannot reach kiln at http://127.0.0.1:9 (connection refused); is the local stack running? "
        "(`python -m cli.local_stack up`; `python -m cli.local_stack env` prints its settings)\n"
    )


def test_missing_settings_are_named_with_their_variables_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("KILN_URL", "KILN_FUNCTION_KEY", "KILN_SUBSCRIPTION", "KILN_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("cli.config.REPO", tmp_path)
    assert kiln.main(["template", "list", "--url", "https://x"]) == 2
    err = capsys.readouterr().err
    assert "--function-key (or $KILN_FUNCTION_KEY), --subscription (or $KILN_SUBSCRIPTION)" in err
    assert "--url" not in err.split("missing")[1]


def test_flags_win_over_the_environment_which_wins_over_the_profile(tmp_path: Path) -> None:
    profile = tmp_path / "kiln.env"
    profile.write_text(
        "# written by local_stack\n"
        "export KILN_URL=https://profile:1/\n"
        "export KILN_FUNCTION_KEY='key from profile'\n"
        "KILN_SUBSCRIPTION=sub-profile\n"
        "KILN_RESOURCE_GROUP=rg-profile\n"
    )
    env = {"KILN_PROFILE": str(profile), "KILN_SUBSCRIPTION": "sub-env"}
    conn = resolve(_args(resource_group="rg-flag"), env)
    assert conn.url == "https://profile:1"
    assert conn.function_key == "key from profile"
    assert conn.subscription == "sub-env"
    assert conn.resource_group == "rg-flag"
    assert conn.ca_file is None


def test_a_named_profile_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(_args(profile=str(tmp_path / "nope.env")), {})


def test_profiles_accept_comments_blank_lines_quoted_values_and_trailing_comments(tmp_path: Path) -> None:
    path = tmp_path / "p.env"
    path.write_text('\n# c\nexport A="x y"\nB=\nC=plain  # a trailing comment\n')
    assert read_profile(path) == {"A": "x y", "B": "", "C": "plain"}
