"""kiln's web page in a real browser (headless Chromium driven by playwright-core) against the local stack.

Each test looks at what a person sees: the templates with their last run and triggers, a build started with
the page's button drawing its time line live (phases gaining bars, regions turning Completed, the log
growing), and a failed run naming the customizer that failed. Screenshots go to ``$KILN_TEST_ARTIFACTS/web``
(default ``.state/test-artifacts/web``, ignored by git).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cli import main as kiln
from cli.local_seed import RUN_COMMAND_OUTCOMES, SUBSCRIPTION
from cli.local_stack import LocalStack
from tests.support.devhost import REPO
from tests.web.browser import Browser

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

EXAMPLE = REPO / "examples" / "ubuntu-2404-gallery-3-regions.json"
# A simulated VM runs nothing: azuresim plays a run command by rules matched against its script, whose
# first lines name the step (activities/support/scripts.py).
FAIL_MARK = "# kiln: customize step 1 'break-on-purpose'"
API = "2025-10-01"


def _quiet(*args: object) -> None:
    return


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = LocalStack(tmp_path_factory.mktemp("web"), latency_scale=0.01).start(log=_quiet)
    running.seed()
    # One Shell customizer of the failing test exits 7; the seed's own rules stay.
    rules = [
        *RUN_COMMAND_OUTCOMES,
        {"pattern": FAIL_MARK, "exitCode": 7, "stderr": "E: it broke on purpose\n"},
    ]
    running.sim_arm().control("PUT", "/_sim/runcommand-outcomes", rules)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    page = Browser()
    try:
        yield page
    finally:
        page.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("KILN_TEST_ARTIFACTS") or REPO / ".state" / "test-artifacts") / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _flags(stack: LocalStack) -> list[str]:
    conn = stack.connection()
    flags = ["--url", conn.url, f"--function-key={conn.function_key}", "--ca-file", str(conn.ca_file)]
    return [*flags, "--subscription", conn.subscription, "--resource-group", str(conn.resource_group)]


def _create(stack: LocalStack, tmp_path: Path, name: str, body: dict[str, Any] | None = None) -> None:
    path = EXAMPLE
    if body is not None:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(body), encoding="utf-8")
    assert kiln.main(["template", "create", str(path), "--name", name, *_flags(stack)]) == 0


def _page(stack: LocalStack, route: str = "") -> str:
    return f"{stack.web_url()}#/subscriptions/{SUBSCRIPTION}{route}"


def _template_route(stack: LocalStack, name: str) -> str:
    group = stack.connection().resource_group
    return f"/resourceGroups/{group}/imageTemplates/{name}"


def _errors(browser: Browser) -> list[str]:
    """Script errors and CSP violations; a fetch answered 404 (the patch cycles probe) is not one."""
    return [p for p in browser.problems() if "Failed to load resource" not in p]


SNAPSHOT = """(() => {
  const bars = (kind) => document.querySelectorAll(`#timeline .bar[data-kind="${kind}"]`).length;
  const regions = {};
  for (const row of document.querySelectorAll('#timeline .tl-row[data-kind="region"]')) {
    regions[row.dataset.name] = row.dataset.state;
  }
  const badge = document.querySelector("#run-head .badge");
  return {state: badge ? badge.dataset.state : null, phases: bars("phase"), customizers: bars("customizer"),
          targets: bars("target"), regions,
          progress: [...document.querySelectorAll('#timeline .bar[data-kind="region"]')]
            .some((b) => /^\\d+%$/.test(b.textContent)),
          log: (document.querySelector("#log")?.innerText || "").length};
})()"""


def test_the_page_and_its_files_need_the_function_key_as_the_api_does(stack: LocalStack) -> None:
    conn = stack.connection()
    base = conn.url + "/web/"
    assert requests.get(base, verify=conn.ca_file, timeout=10).status_code == 401
    assert requests.get(base + "app.js", verify=conn.ca_file, timeout=10).status_code == 401
    page = requests.get(base, params={"code": conn.function_key}, verify=conn.ca_file, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f'src="/web/app.js?code={conn.function_key}"' in page.text  # the assets load with the same key
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    script = requests.get(
        base + "app.js", headers={"x-functions-key": conn.function_key}, verify=conn.ca_file
    )
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    for path in ("../function_app.py", "%2e%2e/host.json", "nothing.js", ".hidden.css"):
        got = requests.get(base + path, params={"code": conn.function_key}, verify=conn.ca_file, timeout=10)
        assert got.status_code == 404, path


def test_the_templates_page_shows_each_template_with_its_last_run_and_triggers(
    stack: LocalStack, browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    _create(stack, tmp_path, "web-listed")
    conn = stack.connection()
    trigger = f"{conn.url}/subscriptions/{SUBSCRIPTION}/resourceGroups/{conn.resource_group}/providers/"
    trigger += (
        f"Microsoft.VirtualMachineImages/imageTemplates/web-listed/triggers/on-new-ubuntu?api-version={API}"
    )
    put = requests.put(
        trigger,
        json={"properties": {"kind": "SourceImage"}},
        headers={"x-functions-key": conn.function_key},
        verify=conn.ca_file,
        timeout=30,
    )
    assert put.status_code in (200, 201), put.text
    browser.goto(_page(stack))
    browser.wait('tr[data-template="web-listed"]')
    row = browser.text('tr[data-template="web-listed"]')
    assert "rg-image-templates" in row and "eastus" in row
    assert "Canonical:ubuntu-24_04-lts:server:latest" in row
    assert "never run" in row
    assert "on-new-ubuntu (SourceImage: Healthy)" in row
    # kiln serves …/patchCycles (an empty list here): the page offers its cycles link.
    assert browser.eval("document.querySelector('#nav-cycles') !== null")
    browser.screenshot(artifacts / "templates.png")
    assert _errors(browser) == []


def test_a_build_started_on_the_page_draws_its_time_line_live(
    stack: LocalStack, browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    _create(stack, tmp_path, "web-live")
    browser.goto(_page(stack, _template_route(stack, "web-live")))
    browser.wait("#run:not([disabled])")
    assert "upgrade-packages" in browser.text("#details") and "install-tools" in browser.text("#details")
    browser.click("#run")
    browser.wait("#timeline .bar")
    assert "/runs/" in str(browser.call("url"))
    seen: list[dict[str, Any]] = []

    def finished() -> bool:
        seen.append(browser.eval(SNAPSHOT))
        return seen[-1]["state"] in ("Succeeded", "Failed", "PartiallySucceeded", "Canceled")

    browser.until(finished, timeout=120, every=0.15)
    first, last = seen[0], seen[-1]
    assert last["state"] == "Succeeded", last
    # The time line gained bars as phases finished, one at a time, never losing one.
    phases = [s["phases"] for s in seen]
    assert phases == sorted(phases) and phases[0] < phases[-1], phases
    names = browser.eval(
        "[...document.querySelectorAll('#timeline .bar[data-kind=phase]')].map(b => b.dataset.name)"
    )
    assert {"resolve", "deploy", "customize", "generalize", "distribute", "cleanup"} <= set(names), names
    assert len(names) == phases[-1] == len(set(names))
    assert len(set(phases)) >= 4, phases
    assert last["customizers"] == 2 and last["targets"] == 1
    # Each region was seen replicating (with its percentage), and turned Completed.
    assert set(last["regions"]) == {"eastus", "westeurope", "southeastasia"}
    assert set(last["regions"].values()) == {"Completed"}
    assert any(s["regions"] and set(s["regions"].values()) != {"Completed"} for s in seen), seen
    assert any(s["progress"] for s in seen), "no region bar showed its replication percentage"
    # The log grew while the run went on.
    assert first["log"] < last["log"], (first, last)
    assert len({s["log"] for s in seen}) >= 2
    log = browser.text("#log")
    assert "customize step 0 'upgrade-packages' (Shell)" in log
    assert "customize step 1 'install-tools' (Shell)" in log
    browser.wait("#outputs dt")
    outputs = browser.text("#outputs")
    assert "ubuntu-2404-gallery" in outputs and "/images/ubuntu-2404-gen2/versions/" in outputs
    assert "Manual" in browser.text("#provenance")
    browser.screenshot(artifacts / "run-succeeded.png")
    assert _errors(browser) == []


def test_a_failed_run_shows_the_customizer_that_failed(
    stack: LocalStack, browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    body = copy.deepcopy(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    body["properties"]["customize"][1] = {"type": "Shell", "name": "break-on-purpose", "inline": ["exit 7"]}
    _create(stack, tmp_path, "web-failing", body)
    browser.goto(_page(stack, _template_route(stack, "web-failing")))
    browser.wait("#run:not([disabled])")
    browser.click("#run")
    browser.wait("#timeline .bar")
    browser.until(lambda: browser.eval(SNAPSHOT)["state"] == "Failed", timeout=120)
    browser.wait("#failed-step")
    assert "customize[1] break-on-purpose" in browser.text("#failed-step")
    errors = browser.text("#errors")
    assert "in phase customize" in errors
    row = (
        'document.querySelector(\'#timeline .tl-row[data-kind="customizer"][data-name="break-on-purpose"]\')'
    )
    assert browser.eval(f"{row}.dataset.state") == "Failed"
    assert browser.eval(
        "document.querySelector('#timeline .tl-row[data-name=\"upgrade-packages\"]').dataset.state"
    ) in ("Succeeded",)
    assert "exit code 7" in browser.text("#log")
    browser.screenshot(artifacts / "run-failed.png")
    assert _errors(browser) == []


def test_the_cycles_page_appears_when_the_patch_cycles_api_answers(
    stack: LocalStack, browser: Browser, artifacts: Path
) -> None:
    # kiln has no patch cycles yet: the browser answers …/patchCycles, shaped as their planned record.
    glob = "**/providers/Microsoft.VirtualMachineImages/patchCycles?*"
    run = "t0123456789abcde-run-00007-1a2b3c"
    cycle = {
        "name": "saturday-0200-2026-12-05",
        "properties": {
            "state": "Succeeded",
            "dueTime": "2026-12-05T02:00:00Z",
            "started": [{"template": "ubuntu", "runId": run}],
            "skippedUnchanged": [{"template": "web-listed"}],
            "failed": [],
        },
    }
    browser.call("answer", glob=glob, body={"value": [cycle]})
    try:
        browser.goto(_page(stack))
        browser.wait("#nav-cycles")
        browser.click("#nav-cycles")
        browser.wait("#cycles table")
        table = browser.text("#cycles")
        for seen in (
            "saturday-0200-2026-12-05",
            "Succeeded",
            "2026-12-05T02:00:00Z",
            f"1: {run}",
            "1: web-listed",
        ):
            assert seen in table, table
        browser.screenshot(artifacts / "cycles.png")
    finally:
        browser.call("unanswer", glob=glob)
    assert _errors(browser) == []
