"""``kiln validate`` end to end: exit codes, text and JSON output, --param, wrappers, as a subprocess too."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from tests.cli.conftest import EXAMPLES, REPO
from tests.cli.template_docs import deployment
from tests.support.fixtures import shared_dir

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
WIN_SIG = (
    "Azure_azvmimagebuilder/quickquickstarts__1_Creating_a_Custom_Win_Shared_Image_Gallery_Image"
    "__armTemplateWinSIG.json"
)


def example(name: str = "ubuntu-2404-gallery-3-regions.json") -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return body


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return str(path)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["validate", "--output", "json", *argv])
    entries: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return code, entries


def test_the_examples_directory_holds_the_seven_documented_examples() -> None:
    assert [p.name for p in EXAMPLE_FILES] == [
        "chained-gallery.json",
        "debian-12-local-vm.json",
        "existing-subnet-identities.json",
        "rhel-planinfo-vhd.json",
        "trusted-launch-gen2.json",
        "ubuntu-2404-gallery-3-regions.json",
        "windows-2022-updates.json",
    ]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_is_a_valid_raw_template(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, [entry] = run_json(capsys, str(path))
    assert entry == {
        "file": str(path),
        "path": "",
        "kind": "template",
        "apiVersion": "2025-10-01",
        "valid": True,
    }
    assert code == 0


def test_an_invalid_template_exits_1_and_names_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = example()
    del body["location"]
    body["properties"]["distribute"][0]["runOutputName"] = "bad name!"
    code, [entry] = run_json(capsys, write(tmp_path, "t.json", body))
    assert code == 1
    assert entry["valid"] is False
    error = entry["error"]["error"]
    assert error["code"] == "ValidationFailed"
    targets = {d["target"] for d in error["details"]}
    assert {"location", "properties.distribute[0].runOutputName"} <= targets
    assert all(d["message"] and d["code"] for d in error["details"])


def test_an_http_script_uri_fails_validation_where_it_would_fail_at_run_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = example()
    body["properties"]["customize"] = [{"type": "Shell", "scriptUri": "http://example.com/setup.sh"}]
    code, [entry] = run_json(capsys, write(tmp_path, "t.json", body))
    assert code == 1
    [detail] = entry["error"]["error"]["details"]
    assert (detail["code"], detail["target"]) == ("InsecureUri", "properties.customize[0].scriptUri")


def test_text_output_has_a_verdict_line_per_template_then_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = example()
    bad["location"] = "<region>"
    good_path = str(EXAMPLES / "chained-gallery.json")
    bad_path = write(tmp_path, "bad.json", bad)
    code = main(["validate", good_path, bad_path])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0] == f"✔ {good_path}: valid image template, api-version 2025-10-01"
    assert lines[1].startswith(f"✘ {bad_path}: 1 problem(s) in image template")
    assert lines[2].startswith("  location: ") and lines[2].endswith("[UnresolvedPlaceholder]")
    assert lines[-2] == "2 file(s), 2 template(s): 1 valid, 1 invalid"
    assert lines[-1].startswith("hint: --param NAME=VALUE replaces")


def deployment_with(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return deployment(resources, parameters={"region": {"type": "string", "defaultValue": "eastus"}})


def test_each_template_of_a_deployment_template_gets_its_own_verdict_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good: dict[str, Any] = {
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "apiVersion": "2024-02-01",
    }
    good["name"] = "a"
    good.update(example())
    good["location"] = "[parameters('region')]"
    bad = copy.deepcopy(good) | {"name": "b"}
    bad["properties"]["source"]["type"] = "Iso"
    other = {
        "type": "Microsoft.Compute/galleries",
        "apiVersion": "2022-03-03",
        "name": "g",
        "location": "eastus",
    }
    path = write(tmp_path, "deploy.json", deployment_with([other, good, bad]))
    code, entries = run_json(capsys, path)
    assert code == 1
    assert [(e["path"], e["apiVersion"], e["valid"]) for e in entries] == [
        ("resources[1]", "2024-02-01", True),
        ("resources[2]", "2024-02-01", False),
    ]
    assert any(d["target"].startswith("properties.source") for d in entries[1]["error"]["error"]["details"])
    main(["validate", path])
    text = capsys.readouterr().out
    assert f"✔ {path} resources[1]: valid image template, api-version 2024-02-01" in text
    assert "  resources[2].properties.source" in text


def test_comments_and_trailing_commas_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(example(), indent=2)
    text = "// nightly Ubuntu build\n" + text.replace('"eastus",', '"eastus", /* build region */', 1)
    text = text[: text.rindex("}")] + ",\n}"
    code, [entry] = run_json(capsys, write(tmp_path, "commented.json", text))
    assert (code, entry["valid"]) == (0, True)


def test_params_resolve_placeholders_in_a_real_quickstart_deployment_template(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(fixtures_dir / WIN_SIG)
    code, [unresolved] = run_json(capsys, path)
    assert code == 1
    codes = {d["code"] for d in unresolved["error"]["error"]["details"]}
    assert codes == {"UnresolvedPlaceholder"}
    sub = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    params = {
        "imageTemplateName": "win2019-sig",
        "api-version": "2022-07-01",
        "svclocation": "westus2",
        "imgBuilderId": f"/subscriptions/{sub}/resourceGroups/rg-aib/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/aibIdentity",
        "subscriptionID": sub,
        "rgName": "rg-aib",
        "sharedImageGalName": "galAib",
        "imageDefName": "win2019",
        "runOutputName": "win2019-sig",
        "region1": "westus2",
        "region2": "eastus",
    }
    argv = [arg for name, value in params.items() for arg in ("--param", f"{name}={value}")]
    code, [resolved] = run_json(capsys, path, *argv)
    assert resolved == {
        "file": path,
        "path": "resources[0]",
        "kind": "template",
        "apiVersion": "2022-07-01",
        "valid": True,
    }
    assert code == 0


def test_api_version_override_applies_to_every_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = example()
    body["properties"]["distribute"][0]["replicationMode"] = "Shallow"  # new in 2025-10-01
    path = write(tmp_path, "t.json", body)
    assert run_json(capsys, path)[0] == 0
    code, [entry] = run_json(capsys, "--api-version", "2024-02-01", path)
    assert (code, entry["apiVersion"]) == (1, "2024-02-01")
    [detail] = entry["error"]["error"]["details"]
    assert detail["target"] == "properties.distribute[0].replicationMode"


def test_a_file_that_is_not_json_exits_1_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "broken.json", '{\n  "location": "eastus"\n  "tags": {}\n}')
    code, [entry] = run_json(capsys, path)
    assert code == 1
    assert entry["error"]["error"]["code"] == "InvalidJson"
    assert "line 3, column 3" in entry["error"]["error"]["message"]


def test_a_missing_file_exits_2_but_the_other_files_are_still_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope.json")
    code, entries = run_json(capsys, missing, str(EXAMPLES / "chained-gallery.json"))
    assert code == 2
    assert entries[0]["error"]["error"]["code"] == "FileNotReadable"
    assert entries[1]["valid"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ["validate"],
        ["validate", "--param", "novalue", "x.json"],
        ["validate", "--api-version", "2020-02-14", "x.json"],
        ["validate", "--output", "yaml", "x.json"],
        [],
    ],
    ids=["no-file", "param-without-equals", "unsupported-api-version", "unknown-output", "no-command"],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_python_dash_m_cli_runs_the_command_as_a_process(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.json", {"properties": {}})
    argv = [
        sys.executable,
        "-m",
        "cli",
        "validate",
        "--output",
        "json",
        str(EXAMPLES / "trusted-launch-gen2.json"),
        bad,
    ]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1, proc.stderr
    entries = json.loads(proc.stdout)
    assert [e["valid"] for e in entries] == [True, False]
    assert {"file", "path", "valid", "error"} <= set(entries[1])


def test_the_template_name_of_an_arm_resource_is_validated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resource: dict[str, Any] = {
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "name": "nightly build!",
    }
    resource.update(example())
    code, [entry] = run_json(capsys, write(tmp_path, "d.json", deployment_with([resource])))
    assert code == 1
    assert [(d["code"], d["target"]) for d in entry["error"]["error"]["details"]] == [
        ("InvalidResourceName", "name")
    ]


def test_help_exits_0_and_lists_the_validate_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "validate" in capsys.readouterr().out


def test_an_api_version_override_replaces_the_note_about_the_declared_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"apiVersion": "2020-02-14", **example()}
    path = write(tmp_path, "old.json", body)
    _, [declared] = run_json(capsys, path)
    assert declared["apiVersion"] == "2025-10-01"
    assert declared["notes"] == [
        "apiVersion '2020-02-14' is not one kiln validates (2025-10-01, 2024-02-01, 2022-07-01); "
        "validated against 2025-10-01"
    ]
    _, [overridden] = run_json(capsys, "--api-version", "2022-07-01", path)
    assert overridden["apiVersion"] == "2022-07-01"
    assert overridden["notes"] == [
        "validated against 2022-07-01 (--api-version); the file declares '2020-02-14'"
    ]
    assert [d["target"] for d in overridden["error"]["error"]["details"]] == ["apiVersion"]


def test_kiln_shared_dir_overrides_where_the_fixtures_are_looked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILN_SHARED_DIR", "/somewhere/else")
    assert shared_dir() == Path("/somewhere/else")
    monkeypatch.delenv("KILN_SHARED_DIR")
    assert shared_dir() == REPO.parent / "shared"
