"""devhost's log lines never carry a URL's credentials (issue 12: a script URL's password and SAS did)."""

from __future__ import annotations

import json

import pytest

from devhost import logs


def test_userinfo_and_sas_signatures_are_redacted_in_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    logs.emit(
        {
            "event": "FunctionException",
            "traceback": "GET https://deploy:hunter2@example.com/a.sh?sv=1&sig=c2VjcmV0%3D&se=2 failed\n"
            "url=https%3A%2F%2Facct.blob.core.windows.net%2Fc%2Fb%3Fsv%3D1%26sig%3Dc2VjcmV0",
        }
    )
    line = capsys.readouterr().err
    record = json.loads(line)
    assert "hunter2" not in line and "c2VjcmV0" not in line
    assert "https://REDACTED@example.com/a.sh?sv=1&sig=REDACTED&se=2" in record["traceback"]
    assert "%26sig%3DREDACTED" in record["traceback"]
