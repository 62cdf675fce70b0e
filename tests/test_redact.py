"""shared/redact.py: what kiln echoes of a URL (issue 12)."""

from __future__ import annotations

import pytest

from shared import redact


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("https://u:p@host/x.sh", "https://REDACTED@host/x.sh"),
        ("https://token@host/x.sh", "https://REDACTED@host/x.sh"),
        (
            "https://a.blob.core.windows.net/c/b?sv=1&sig=abc%2Bd&se=2",
            "https://a.blob.core.windows.net/c/b?sv=1&sig=REDACTED&se=2",
        ),
        ("https://h/x?SIG=abc", "https://h/x?SIG=REDACTED"),
        (
            "see https://u:p@h/a and https://h/b?sig=zz.",
            "see https://REDACTED@h/a and https://h/b?sig=REDACTED",
        ),
        ("https://h/x?design=1", "https://h/x?design=1"),  # 'sig' inside another parameter name
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("https://h/x?a=1", "https://h/x?a=1"),
    ],
)
def test_credentials_are_replaced_and_nothing_else(given: str, shown: str) -> None:
    assert redact.url(given) == shown
    assert redact.has_credentials(given) == (given != shown)


def test_only_artifact_fields_are_rewritten_and_a_signature_may_stay() -> None:
    template = {
        "properties": {
            "customize": [
                {"type": "Shell", "scriptUri": "https://u:p@h/a.sh?sig=1", "inline": None},
                {"type": "Shell", "inline": ["curl 'https://h/b?sig=keep'"]},
                {"type": "File", "sourceUri": "https://acct.blob.core.windows.net/c/f?sig=2"},
            ]
        }
    }
    shown = redact.artifact_uris(template)["properties"]["customize"]
    assert shown[0]["scriptUri"] == "https://REDACTED@h/a.sh?sig=REDACTED"
    assert shown[1]["inline"] == ["curl 'https://h/b?sig=keep'"]  # the template's script, not an echo
    assert shown[2]["sourceUri"] == "https://acct.blob.core.windows.net/c/f?sig=REDACTED"
    history = redact.artifact_uris(template, keep_signatures=True)["properties"]["customize"]
    assert history[0]["scriptUri"] == "https://REDACTED@h/a.sh?sig=1"  # the fetcher must send it
    assert history[2]["sourceUri"] == "https://acct.blob.core.windows.net/c/f?sig=2"  # storage reads it
    assert template["properties"]["customize"][0]["scriptUri"] == "https://u:p@h/a.sh?sig=1"  # a copy
