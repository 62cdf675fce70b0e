"""checkov over infra/: every file parsed, no failed check, and every skip used and justified in place.

checkov lives in its own venv (.venv-checkov, made by scripts/setup.sh): its pins conflict with kiln's. It
parses Bicep with its own (older) pycep-parser, which fails on some syntax silently: parse errors are only
counted in the summary, so they are asserted here.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.infra.bicep import INFRA, REPO, bicep_files

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
SKIP = re.compile(r"//\s*checkov:skip=(CKV2?_[A-Z]+_\d+)(?::\s*(.*))?$", re.M)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over infra/, its JSON report."""
    tmp = str(tmp_path_factory.mktemp("checkov"))
    assert CHECKOV.exists(), "checkov is missing: run scripts/setup.sh (it creates .venv-checkov)"
    done = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(INFRA),
            "--framework",
            "bicep",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # Lark (inside checkov) caches its parser in the temp folder: keep that in the test's own.
        env={"PATH": "/usr/bin:/bin", "TMPDIR": tmp, "HOME": tmp, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    parsed = json.loads(done.stdout)
    parsed = parsed[0] if isinstance(parsed, list) else parsed
    assert isinstance(parsed, dict)
    return parsed


def test_checkov_parses_every_file_and_fails_no_check(report: dict[str, Any]) -> None:
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, "checkov could not parse a Bicep file (it then skips it silently)"
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["failed_checks"]]
    assert not failed, failed
    assert summary["passed"] >= 20 and summary["resource_count"] >= 30, summary
    scanned = {c["file_path"].lstrip("/") for c in report["results"]["passed_checks"]}
    assert {"modules/function-app.bicep", "modules/storage.bicep", "modules/keyvault.bicep"} <= scanned


def test_every_skip_is_justified_and_used(report: dict[str, Any]) -> None:
    written: set[tuple[str, str]] = set()
    for path in bicep_files():
        for check, why in SKIP.findall(path.read_text()):
            assert len((why or "").split()) >= 6, f"{path.name}: skip of {check} has no real justification"
            written.add((path.relative_to(INFRA).as_posix(), check))
    applied = {(c["file_path"].lstrip("/"), c["check_id"]) for c in report["results"]["skipped_checks"]}
    assert applied == written, (
        f"stale skips: {written - applied}; skips not written here: {applied - written}"
    )
    for check in report["results"]["skipped_checks"]:
        assert check["check_result"].get("suppress_comment"), check["check_id"]
