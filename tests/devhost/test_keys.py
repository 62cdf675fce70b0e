"""The host's keys: generated once, kept across restarts, usable on a command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost import keys


def test_keys_are_generated_once_and_kept_across_loads(tmp_path: Path) -> None:
    first = keys.load_keys(tmp_path)
    again = keys.load_keys(tmp_path)
    assert (again.function_key, again.master_key) == (first.function_key, first.master_key)
    assert set(first.system_keys) == {keys.DURABLE_SYSTEM_KEY, keys.EVENTGRID_SYSTEM_KEY}
    stored = json.loads((tmp_path / "keys.json").read_text())
    assert stored["functionKey"] == first.function_key
    assert oct((tmp_path / "keys.json").stat().st_mode & 0o777) == "0o600"


def test_a_generated_key_never_starts_with_a_dash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # token_urlsafe draws "-" as a first character one time in 64; such a key after --function-key
    # on a command line reads as an option, so the host draws again.
    drawn = iter(["-a", "-b", "k1", "-c", "k2", "k3", "-d", "k4"])
    monkeypatch.setattr(keys.secrets, "token_urlsafe", lambda _n: next(drawn))
    loaded = keys.load_keys(tmp_path)
    assert sorted([loaded.function_key, loaded.master_key, *loaded.system_keys.values()]) == [
        "k1",
        "k2",
        "k3",
        "k4",
    ]
