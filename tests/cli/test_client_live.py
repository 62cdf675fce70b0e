"""The ``kiln template …`` commands against kiln's function app under devhost (HTTPS) on Azurite."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import main as kiln
from tests.support.azuresim import start_azuresim
from tests.support.azurite import Azurite
from tests.support.devhost import REPO, Devhost, start_devhost

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

EXAMPLE = REPO / "examples" / "ubuntu-2404-gallery-3-regions.json"
OTHER = REPO / "examples" / "trusted-launch-gen2.json"


@pytest.fixture(scope="module")
def host(azurite: Azurite) -> Iterator[Devhost]:
    # Deleting a template cleans up in "Azure": azuresim plays it.
    sim = start_azuresim(storage_connection_string=azurite.connection_string)
    env = {
        "KILN_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "KILN_STORE_CONTAINER": f"cli{uuid.uuid4().hex[:20]}",
        "KILN_API_PAGE_SIZE": "2",  # lists take several pages
        "KILN_AZURE_MODE": "sim",
        "KILN_SIM_BASE_URL": sim.base_url,
        "KILN_SIM_CA_FILE": sim.ca_file,
        "KILN_TIMING_PROFILE": "local",
    }
    server = start_devhost(REPO, env=env, https=True)
    try:
        yield server
    finally:
        server.stop()
        sim.stop()


@pytest.fixture
def flags(host: Devhost, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.delenv("KILN_PROFILE", raising=False)
    sub = str(uuid.uuid4())
    return [
        "--url", host.base_url, f"--function-key={host.function_key}", "--ca-file", str(host.ca_file),
        "--subscription", sub, "--resource-group", "rg-cli",
    ]  # fmt: skip


def _kiln(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = kiln.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_create_show_list_and_delete_a_template_from_an_example_file(
    capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    code, out, _ = _kiln(capsys, "template", "create", str(EXAMPLE), "--name", "ubuntu", *flags)
    assert code == 0
    assert out.startswith("created ubuntu (Succeeded): /subscriptions/")
    code, out, _ = _kiln(capsys, "template", "create", str(EXAMPLE), "--name", "ubuntu", *flags)
    assert code == 0 and out.startswith("unchanged (the same template exists) ubuntu")
    code, out, _ = _kiln(capsys, "template", "show", "ubuntu", *flags)
    shown = json.loads(out)
    assert shown["name"] == "ubuntu"
    assert shown["properties"]["source"]["offer"] == "ubuntu-24_04-lts"
    code, out, _ = _kiln(capsys, "template", "delete", "ubuntu", *flags)
    assert (code, out) == (0, "deleted ubuntu\n"), _
    code, _, err = _kiln(capsys, "template", "show", "ubuntu", *flags)
    assert code == 1 and err.startswith("error: ResourceNotFound: ")
    code, out, _ = _kiln(capsys, "template", "delete", "ubuntu", *flags)
    assert (code, out) == (0, "ubuntu does not exist (nothing to delete)\n")


def test_list_follows_next_links_across_pages(capsys: pytest.CaptureFixture[str], flags: list[str]) -> None:
    names = [f"t{i}" for i in range(5)]
    for name in names:
        assert _kiln(capsys, "template", "create", str(EXAMPLE), "--name", name, *flags)[0] == 0
    _, out, _ = _kiln(capsys, "template", "list", *flags)
    rows = out.splitlines()
    assert rows[0].split() == ["NAME", "RESOURCE", "GROUP", "LOCATION", "STATE", "LAST", "RUN"]
    assert sorted(r.split()[0] for r in rows[1:]) == names
    assert all(r.split()[1:4] == ["rg-cli", "eastus", "Succeeded"] for r in rows[1:])
    _, out, _ = _kiln(capsys, "template", "list", "--output", "json", *flags)
    assert sorted(t["name"] for t in json.loads(out)) == names


def test_a_different_body_under_an_existing_name_prints_the_409_conflict(
    capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    assert _kiln(capsys, "template", "create", str(EXAMPLE), "--name", "same", *flags)[0] == 0
    code, _, err = _kiln(capsys, "template", "create", str(OTHER), "--name", "same", *flags)
    assert code == 1
    assert err.startswith("error: Conflict: ")
    assert "Update/Upgrade of image templates is currently not supported" in err
    assert (
        f"  hint: `kiln template update same --from {OTHER}` applies its tags, identity, distribute and "
        "vmProfile; any other change needs `kiln template delete same` first [UseUpdate]"
    ) in err
    assert "  HTTP 409 (PUT " in err


def test_an_invalid_template_prints_each_problem_at_its_field(
    capsys: pytest.CaptureFixture[str], flags: list[str], tmp_path: Path
) -> None:
    body = json.loads(EXAMPLE.read_text())
    del body["identity"]
    body["properties"]["buildTimeoutInMinutes"] = 99999
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(body))
    code, _, err = _kiln(capsys, "template", "create", str(path), *flags)
    lines = err.splitlines()
    assert code == 1
    assert lines[0].startswith("error: ValidationFailed: ")
    targets = [line.split(":")[0].strip() for line in lines[1:-1]]
    assert "identity" in targets
    assert "properties.buildTimeoutInMinutes" in targets
    assert lines[-1].startswith("  HTTP 400 (PUT ") and "/imageTemplates/broken" in lines[-1]


def test_a_file_without_a_template_is_refused_before_any_request(
    capsys: pytest.CaptureFixture[str], flags: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "nothing.json"
    path.write_text(
        '{"$schema": "https://schema.management.azure.com/deploymentTemplate.json#", "resources": []}'
    )
    code, _, err = _kiln(capsys, "template", "create", str(path), *flags)
    assert code == 2
    assert err.startswith(f"error: {path}: ")
    assert "NoTemplateFound" in err


def test_update_patches_tags_vm_profile_and_distribute_and_refuses_an_empty_update(
    capsys: pytest.CaptureFixture[str], flags: list[str], tmp_path: Path
) -> None:
    assert _kiln(capsys, "template", "create", str(EXAMPLE), "--name", "patched", *flags)[0] == 0
    code, out, err = _kiln(
        capsys, "template", "update", "patched", "--tag", "team=platform", "--vm-profile",
        '{"vmSize": "Standard_D4ds_v5"}', *flags,
    )  # fmt: skip
    assert (code, out) == (0, "updated patched: tags, properties.vmProfile\n"), err
    shown = json.loads(_kiln(capsys, "template", "show", "patched", *flags)[1])
    assert shown["tags"]["team"] == "platform"
    assert shown["properties"]["vmProfile"]["vmSize"] == "Standard_D4ds_v5"
    assert shown["properties"]["vmProfile"]["osDiskSizeGB"] == 30  # vmProfile is merged, not replaced
    # --from takes the patchable fields of an edited file: here, one region fewer.
    edited = json.loads(EXAMPLE.read_text())
    edited["properties"]["distribute"][0]["targetRegions"] = edited["properties"]["distribute"][0][
        "targetRegions"
    ][:1]
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited))
    code, out, err = _kiln(capsys, "template", "update", "patched", "--from", str(path), *flags)
    assert code == 0, err
    assert out == "updated patched: tags, identity, properties.distribute, properties.vmProfile\n"
    shown = json.loads(_kiln(capsys, "template", "show", "patched", *flags)[1])
    assert len(shown["properties"]["distribute"][0]["targetRegions"]) == 1
    assert "team" not in shown["tags"]  # the file's tags replace the template's, as AIB's PATCH does
    code, _, err = _kiln(capsys, "template", "update", "patched", "--remove-tag", "team", *flags)
    assert code == 0, err
    code, _, err = _kiln(capsys, "template", "update", "patched", *flags)
    assert code == 2 and err.startswith("error: nothing to update: give --from FILE, --tag")
    code, _, err = _kiln(capsys, "template", "update", "patched", "--distribute", "{not json", *flags)
    assert code == 2 and err.startswith("error: --distribute: not JSON")


def test_export_prints_the_stored_body_which_puts_back_unchanged_and_elsewhere(
    capsys: pytest.CaptureFixture[str], flags: list[str], tmp_path: Path
) -> None:
    assert _kiln(capsys, "template", "create", str(EXAMPLE), "--name", "exported", *flags)[0] == 0
    code, out, _ = _kiln(capsys, "template", "export", "exported", *flags)
    assert code == 0
    body = json.loads(out)
    assert set(body) == {"location", "tags", "identity", "properties"}
    assert not {"provisioningState", "lastRunStatus", "exactStagingResourceGroup"} & set(body["properties"])
    path = tmp_path / "exported.json"
    code, out, _ = _kiln(capsys, "template", "export", "exported", "--file", str(path), *flags)
    assert (code, json.loads(path.read_text())) == (0, body)
    code, out, _ = _kiln(capsys, "template", "create", str(path), "--name", "exported", *flags)
    assert code == 0 and out.startswith("unchanged (the same template exists) exported")
    code, out, _ = _kiln(capsys, "template", "create", str(path), "--name", "copied", *flags)
    assert code == 0 and out.startswith("created copied (Succeeded)")
