"""infra/hooks/postdeploy.sh against a stand-in Azure CLI: what it asks Azure for, in what order, and when it
gives up. shellcheck reads it too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.infra.bicep import INFRA

HOOK = INFRA / "hooks" / "postdeploy.sh"
SUB = "11111111-2222-3333-4444-555555555555"
APP_ID = f"/subscriptions/{SUB}/resourceGroups/rg-kiln/providers/Microsoft.Web/sites/func-kiln-x"
STORAGE_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-kiln/providers/Microsoft.Storage/storageAccounts/stkilnx"
)
ENV = {
    "KILN_FUNCTION_APP_ID": APP_ID,
    "KILN_SUBSCRIPTION": SUB,
    "KILN_EVENT_GRID_TOPIC_NAME": "evgt-kiln-x",
    "KILN_EVENT_GRID_TOPIC_RESOURCE_GROUP": "rg-kiln",
    "KILN_STORAGE_ACCOUNT_ID": STORAGE_ID,
    "KILN_DEAD_LETTER_CONTAINER": "eventgrid-deadletter",
    "KILN_HOOK_WAIT_SECONDS": "0",
    "KILN_HOOK_ATTEMPTS": "5",
}

# The stand-in `az`: logs each call, answers `rest` calls from a script of answers kept in a state file.
STUB = """#!{python}
import json, os, sys
state_path = os.environ["STUB_STATE"]
state = json.load(open(state_path))
args = sys.argv[1:]
state["calls"].append(args)
code, out = 0, ""
if args[:2] == ["account", "show"]:
    code = 0 if state["signed_in"] else 1
elif args[0] == "rest":
    method = args[args.index("--method") + 1]
    url = args[args.index("--url") + 1]
    if method == "put":
        state["body"] = json.loads(args[args.index("--body") + 1])
    elif "/functions/" in url:
        code = 0 if state["function_after"] <= 0 else 3
        state["function_after"] -= 1
    else:
        states = state["provisioning"]
        out = states.pop(0) if len(states) > 1 else states[0]
json.dump(state, open(state_path, "w"))
if out:
    print(out)
sys.exit(code)
"""


def _run(
    tmp_path: Path, *, env: dict[str, str] | None = None, **state: Any
) -> tuple[int, dict[str, Any], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    az = bin_dir / "az"
    az.write_text(STUB.replace("{python}", sys.executable))
    az.chmod(0o755)
    state_file = tmp_path / "state.json"
    initial = {"calls": [], "signed_in": True, "function_after": 0, "provisioning": ["Succeeded"]}
    state_file.write_text(json.dumps({**initial, **state}))
    full_env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "STUB_STATE": str(state_file),
        **(ENV if env is None else env),
    }
    done = subprocess.run(["bash", str(HOOK)], env=full_env, capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(state_file.read_text()), done.stdout + done.stderr


def test_hook_passes_shellcheck() -> None:
    shellcheck = Path(sys.executable).parent / "shellcheck"
    done = subprocess.run([str(shellcheck), "--severity=style", str(HOOK)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert os.access(HOOK, os.X_OK), "azd runs the hook as a program"


def test_subscribes_the_event_grid_function_to_gallery_version_writes(tmp_path: Path) -> None:
    code, state, output = _run(tmp_path)
    assert code == 0, output
    props = state["body"]["properties"]
    assert props["destination"] == {
        "endpointType": "AzureFunction",
        "properties": {"resourceId": f"{APP_ID}/functions/source_image_events", "maxEventsPerBatch": 1},
    }
    assert props["filter"] == {
        "includedEventTypes": ["Microsoft.Resources.ResourceWriteSuccess"],
        "subjectBeginsWith": f"/subscriptions/{SUB}/resourceGroups/",
        "advancedFilters": [
            {
                "operatorType": "StringIn",
                "key": "data.operationName",
                "values": ["Microsoft.Compute/galleries/images/versions/write"],
            }
        ],
    }
    assert props["eventDeliverySchema"] == "EventGridSchema"
    assert props["deadLetterWithResourceIdentity"] == {
        "identity": {"type": "SystemAssigned"},
        "deadLetterDestination": {
            "endpointType": "StorageBlob",
            "properties": {"resourceId": STORAGE_ID, "blobContainerName": "eventgrid-deadletter"},
        },
    }
    put = next(c for c in state["calls"] if c[:3] == ["rest", "--method", "put"])
    url = put[put.index("--url") + 1]
    assert url == (
        f"/subscriptions/{SUB}/resourceGroups/rg-kiln/providers/Microsoft.EventGrid/systemTopics/evgt-kiln-x"
        "/eventSubscriptions/kiln-source-images?api-version=2025-02-15"
    )


def test_subject_prefix_narrows_to_one_group_of_galleries(tmp_path: Path) -> None:
    prefix = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/galleries/"
    code, state, output = _run(tmp_path, env={**ENV, "KILN_EVENTS_SUBJECT_PREFIX": prefix})
    assert code == 0, output
    assert state["body"]["properties"]["filter"]["subjectBeginsWith"] == prefix


def test_waits_for_the_function_to_be_indexed_before_subscribing(tmp_path: Path) -> None:
    code, state, output = _run(tmp_path, function_after=2, provisioning=["Creating", "Succeeded"])
    assert code == 0, output
    calls = state["calls"]
    put = next(i for i, c in enumerate(calls) if c[:3] == ["rest", "--method", "put"])
    function_gets = [
        i for i, c in enumerate(calls) if c[:3] == ["rest", "--method", "get"] and "/functions/" in c[4]
    ]
    assert len(function_gets) == 3  # two misses, then found
    assert max(function_gets) < put
    polls = [c for c in calls[put + 1 :] if "properties.provisioningState" in c]
    assert len(polls) == 2  # Creating, then Succeeded
    assert "is ready" in output


def test_gives_up_when_the_function_never_appears(tmp_path: Path) -> None:
    code, state, output = _run(tmp_path, function_after=99)
    assert code == 1
    assert "source_image_events not found" in output
    assert "body" not in state  # nothing was subscribed


def test_fails_when_event_grid_refuses_the_subscription(tmp_path: Path) -> None:
    code, _, output = _run(tmp_path, provisioning=["Creating", "Failed"])
    assert code == 1
    assert "ended Failed" in output


def test_refuses_to_run_without_the_deployment_outputs(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "KILN_STORAGE_ACCOUNT_ID"}
    code, state, output = _run(tmp_path, env=env)
    assert code == 2
    assert "KILN_STORAGE_ACCOUNT_ID is not set" in output
    assert state["calls"] == []


def test_says_so_when_the_azure_cli_is_not_signed_in(tmp_path: Path) -> None:
    code, state, output = _run(tmp_path, signed_in=False)
    assert code == 2
    assert "az login" in output
    assert len(state["calls"]) == 1
