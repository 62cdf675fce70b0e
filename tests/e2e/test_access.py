"""The template's identity does the template's work: with one of the roles the local stack seeds removed, a
build fails in preflight naming the identity, the missing action and the scope, before anything is created;
with the role back, the same template builds (docs/security.md)."""

from __future__ import annotations

import pytest

from cli.local_seed import IMAGE_CREATION_ROLE_ID, role_assignment_id, template_identity
from tests.support.scenarios import IDENTITY, gallery_target, linux_template, shell
from tests.support.stack import KilnStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]
ROLE_API = "2022-04-01"


def test_a_removed_role_is_named_by_preflight_and_granting_it_again_lets_the_build_run(
    stack: KilnStack,
) -> None:
    arm = stack.sim_arm()
    principal = arm.get(template_identity(arm), "2023-01-31")["properties"]["principalId"]
    subscription = f"/subscriptions/{arm.subscription}"
    assignment_id = role_assignment_id(subscription, IMAGE_CREATION_ROLE_ID, principal)
    assignment = arm.get(assignment_id, ROLE_API)
    url = f"{arm.base_url}{assignment_id}?api-version={ROLE_API}"
    assert arm.session.delete(url, timeout=30, verify=arm.ca_file).status_code == 200

    definition = stack.define_image("e2e-access")
    body = linux_template(
        customize=[shell("hello", "echo hello")], distribute=[gallery_target(definition, "ok")]
    )
    stack.create_template("access", body)
    run_id = stack.start_run("access")
    failed = stack.wait_run("access", run_id, timeout=300)["properties"]
    assert failed["runState"] == "Failed"
    message = failed["message"]
    assert "preflight" in message.lower()
    assert (
        f"the template's identity '{IDENTITY}' may not perform action "
        f"'Microsoft.Compute/galleries/images/versions/write' on '{definition}'"
    ) in message
    assert "deploy" not in [p["phase"] for p in failed["phases"]]  # nothing was deployed
    assert stack.leftovers(run_id) == []

    arm.put(assignment_id, {"properties": assignment["properties"]}, ROLE_API)
    again = stack.start_run("access")
    assert stack.wait_run("access", again, timeout=420)["properties"]["runState"] == "Succeeded"
