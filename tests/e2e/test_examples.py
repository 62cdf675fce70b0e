"""Every template of examples/ builds through kiln's REST API on the local stack (Azure simulated).

The builds run concurrently (one template each); chained-gallery starts once the Ubuntu gallery image it
layers on has a version. The RHEL example's File customizer and the Debian example's scriptUri download from
GitHub: here they download the same kind of file from the stack's HTTPS artifact server (no traffic leaves
127.0.0.1), with that file's checksum, and the VHD whose ``uri`` names a storage account on the internet goes
where AIB puts a VHD without ``uri``: the staging storage account (Azurite).
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from shared.azure.telemetry import read_json_lines
from shared.models.trace import trace_id_hex
from tests.support import secrets
from tests.support.scenarios import EXAMPLES, example
from tests.support.stack import KilnStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

VHD_EXAMPLE = "rhel-planinfo-vhd"
STEMS = sorted(p.stem for p in EXAMPLES.glob("*.json") if p.stem != VHD_EXAMPLE)
LATER = {"chained-gallery": "ubuntu-2404-gallery-3-regions"}  # example → the example it builds on
INDEX_HTML = b"<html><body><h1>Built by kiln (e2e)</h1></body></html>\n"


def local_body(stack: KilnStack, stem: str) -> dict[str, Any]:
    body = example(stem)
    for index, step in enumerate(body["properties"].get("customize", [])):
        if step.get("type") == "File" and step.get("sourceUri", "").startswith(
            "https://raw.githubusercontent"
        ):
            step["sourceUri"], step["sha256Checksum"] = stack.artifacts.add(f"{stem}/index.html", INDEX_HTML)
        if step.get("scriptUri", "").startswith("https://raw.githubusercontent"):
            script = f"#!/bin/sh\necho 'step {index} of {stem} (e2e stand-in)'\n".encode()
            step["scriptUri"], checksum = stack.artifacts.add(f"{stem}/step{index}.sh", script)
            if "sha256Checksum" in step:
                step["sha256Checksum"] = checksum
    for target in body["properties"]["distribute"]:
        if target["type"] == "VHD" and ".blob.core.windows.net/" in target.get("uri", ""):
            del target["uri"]
    return body


@pytest.fixture(scope="module")
def builds(stack: KilnStack) -> dict[str, dict[str, Any]]:
    """stem → {"run_id", "run" (the terminal run document), "created" (the template as PUT answered)}."""
    started: dict[str, str] = {}
    created: dict[str, dict[str, Any]] = {}
    for stem in STEMS:
        created[stem] = stack.create_template(stem, local_body(stack, stem))
        if stem not in LATER:
            started[stem] = stack.start_run(stem)
    done: dict[str, dict[str, Any]] = {}
    for stem in [s for s in STEMS if s not in LATER] + list(LATER):
        if stem in LATER:
            base = done[LATER[stem]]["run"]["properties"]
            assert base["runState"] == "Succeeded", f"{stem} needs {LATER[stem]}, which ended {base}"
            started[stem] = stack.start_run(stem)
        run = stack.wait_run(stem, started[stem], timeout=420)
        done[stem] = {"run_id": started[stem], "run": run, "created": created[stem]}
    return done


@pytest.mark.parametrize("stem", STEMS)
def test_example_builds_and_publishes_one_run_output_per_target(
    stack: KilnStack, builds: dict[str, dict[str, Any]], stem: str
) -> None:
    props = builds[stem]["run"]["properties"]
    assert props["runState"] == "Succeeded", props["message"]
    outputs = stack.run_outputs(stem)
    targets = example(stem)["properties"]["distribute"]
    assert sorted(outputs) == sorted(t["runOutputName"] for t in targets)
    inventory = {r["id"].lower() for r in stack.inventory()}
    for target in targets:
        out = outputs[target["runOutputName"]]["properties"]
        assert out.get("artifactUri") or out.get("artifactId"), out
        if target["type"] in ("ManagedImage", "SharedImage"):
            assert out["artifactId"].lower() in inventory, f"{out['artifactId']} is not in azuresim"
        if target["type"] == "VHD":
            _assert_vhd_published(stack, target, out["artifactUri"])


def _assert_vhd_published(stack: KilnStack, target: dict[str, Any], uri: str) -> None:
    """A VHD lands at the target's ``uri``, or (no ``uri``) as a blob in the staging account's ``vhds``
    container, which locally is Azurite's account."""
    if target.get("uri"):
        assert uri == target["uri"]
        return
    endpoint = stack.proc("azurite").info["blobEndpoint"].rstrip("/")
    assert uri.startswith(endpoint + "/vhds/") and uri.endswith(".vhd"), uri
    service = BlobServiceClient.from_connection_string(stack.proc("azurite").info["connectionString"])
    blob = service.get_blob_client("vhds", uri.removeprefix(endpoint + "/vhds/"))
    assert blob.get_blob_properties().size > 0, uri


@pytest.mark.parametrize("stem", STEMS)
def test_example_build_leaves_no_temporary_resource(
    stack: KilnStack, builds: dict[str, dict[str, Any]], stem: str
) -> None:
    assert stack.leftovers(builds[stem]["run_id"]) == []


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("stem", STEMS)
def test_the_run_documents_phases_tile_the_run_in_aib_order_cleanup_and_outputs_included(
    builds: dict[str, dict[str, Any]], stem: str
) -> None:
    props = builds[stem]["run"]["properties"]
    phases = props["phases"]
    template = example(stem)["properties"]
    expected = ["resolve", "preflight", "staging", "deploy", "artifacts"]
    expected += ["customize"] if template.get("customize") else []
    expected += ["validate"] if (template.get("validate") or {}).get("inVMValidations") else []
    expected += ["generalize", "distribute", "outputs", "cleanup"]
    assert [p["phase"] for p in phases] == expected
    assert all(p["state"] == "Succeeded" for p in phases), phases
    # Each phase ends when the next begins, the last when the run ends: their durations add up to the run.
    gaps = [_seconds(b["startTime"]) - _seconds(a["endTime"]) for a, b in pairwise(phases)]
    assert gaps and max(abs(g) for g in gaps) == 0.0, gaps
    assert phases[-1]["endTime"] == props["endTime"]
    assert 0 <= _seconds(phases[0]["startTime"]) - _seconds(props["startTime"]) < 30


@pytest.mark.parametrize("stem", STEMS)
def test_each_run_is_one_trace_of_its_phases_customizers_targets_and_regions(
    stack: KilnStack, builds: dict[str, dict[str, Any]], stem: str
) -> None:
    run_id, props = builds[stem]["run_id"], builds[stem]["run"]["properties"]
    spans = [s for s in read_json_lines(stack.state / "traces.jsonl") if s["traceId"] == trace_id_hex(run_id)]
    template = example(stem)["properties"]

    def named(prefix: str) -> list[dict[str, Any]]:
        return sorted(
            (s for s in spans if s["name"].startswith(prefix)), key=lambda s: int(s["startTimeUnixNano"])
        )

    assert len({s["spanId"] for s in spans}) == len(spans), "a span was recorded twice"
    (root,) = named("run ")
    assert root["name"] == f"run {stem}" and root["status"]["code"] == 1 and "parentSpanId" not in root
    assert [s["attributes"]["kiln.phase"] for s in named("phase ")] == [p["phase"] for p in props["phases"]]
    assert {s["parentSpanId"] for s in named("phase ")} == {root["spanId"]}
    phase_ids = {s["attributes"]["kiln.phase"]: s["spanId"] for s in named("phase ")}
    customizers = named("customize ")
    assert len(customizers) == len(template.get("customize") or [])
    assert {s["parentSpanId"] for s in customizers} <= {phase_ids.get("customize")}
    assert len(named("generalize ")) == 1
    targets = named("distribute ")
    assert sorted(s["attributes"]["kiln.target"] for s in targets) == sorted(
        d["runOutputName"] for d in template["distribute"]
    )
    assert {s["parentSpanId"] for s in targets} == {phase_ids["distribute"]}
    galleries = [d for d in template["distribute"] if d["type"] == "SharedImage"]
    regions = sum(len(d.get("targetRegions") or d.get("replicationRegions") or []) for d in galleries)
    assert len(named("replicate ")) >= regions
    for span in spans:
        assert span["attributes"]["kiln.run_id"] == run_id
        assert (
            int(root["startTimeUnixNano"]) <= int(span["startTimeUnixNano"]) <= int(span["endTimeUnixNano"])
        )
        assert int(span["endTimeUnixNano"]) <= int(root["endTimeUnixNano"])


def test_the_build_uses_the_staging_group_the_template_announced_at_create(
    builds: dict[str, dict[str, Any]],
) -> None:
    built = builds["ubuntu-2404-gallery-3-regions"]
    announced = built["created"]["properties"]["exactStagingResourceGroup"]
    used = built["run"]["properties"]["stagingResourceGroup"]
    assert announced.rsplit("/", 1)[-1].lower() == used.rsplit("/", 1)[-1].lower()


def test_chained_gallery_builds_on_the_version_the_ubuntu_example_published(
    stack: KilnStack, builds: dict[str, dict[str, Any]]
) -> None:
    published = stack.run_outputs("ubuntu-2404-gallery-3-regions")["ubuntu-2404-gallery"]["properties"]
    chained = builds["chained-gallery"]["run"]["properties"]
    assert chained["exactVersion"], chained
    assert published["artifactId"].lower().endswith(chained["exactVersion"].rsplit("/", 1)[-1].lower())


def test_the_vhd_example_builds_and_publishes_its_vhd(stack: KilnStack) -> None:
    stack.create_template(VHD_EXAMPLE, local_body(stack, VHD_EXAMPLE))
    run_id = stack.start_run(VHD_EXAMPLE)
    props = stack.wait_run(VHD_EXAMPLE, run_id, timeout=300)["properties"]
    assert props["runState"] == "Succeeded", props["message"]
    vhd = stack.run_outputs(VHD_EXAMPLE)["rhel-9-byos-vhd"]["properties"]
    assert vhd["artifactUri"].startswith(stack.proc("azurite").info["blobEndpoint"]), vhd
    assert stack.leftovers(run_id) == []


def test_no_admin_password_appears_in_history_logs_or_api_responses(
    stack: KilnStack, builds: dict[str, dict[str, Any]]
) -> None:
    passwords = stack.admin_passwords()
    assert len(passwords) >= len(builds), "each build VM's admin password should be in azuresim's Key Vault"
    texts = secrets.places(stack, {stem: built["run_id"] for stem, built in builds.items()})
    for stem, built in builds.items():
        assert len(stack.durable_histories(built["run_id"])) == 1, "the run's one orchestration"
        assert "customize" in texts[f"{stem}: customization.log (API)"], f"{stem}: customization.log is empty"
    assert secrets.exposures(passwords, texts) == []
