"""functions/web.py without a host: which files it serves, and how index.html carries the key."""

from __future__ import annotations

import pytest

from functions.web import KEY_QUERY, WEB_DIR, index_html, web_file
from shared.errors import KilnError


def test_the_folder_is_index_html_and_each_asset_is_its_file() -> None:
    assert web_file("") == web_file("/") == (WEB_DIR / "index.html").resolve()
    for name in ("app.js", "style.css", "favicon.svg"):
        assert web_file(name) == (WEB_DIR / name).resolve()


@pytest.mark.parametrize(
    "path",
    [
        "../function_app.py",
        "..",
        "../web/../host.json",
        "/etc/passwd",
        "app.py",
        ".hidden.css",
        "x/../../a.js",
    ],
)
def test_nothing_outside_web_and_nothing_but_page_files_is_served(path: str) -> None:
    with pytest.raises(KilnError) as error:
        web_file(path)
    assert error.value.status == 404 and error.value.code == "NotFound"


def test_the_asset_links_carry_the_key_escaped_and_nothing_without_one() -> None:
    page = index_html('k"<x>&y').decode()
    assert KEY_QUERY not in page
    assert 'src="/web/app.js?code=k%22%3Cx%3E%26y"' in page
    assert 'href="/web/style.css?code=k%22%3Cx%3E%26y"' in page
    bare = index_html(None).decode()
    assert 'src="/web/app.js"' in bare and "code=" not in bare
