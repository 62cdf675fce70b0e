"""Where a secret must never appear: Durable history, logs, blobs and API responses of a stack's runs."""

from __future__ import annotations

import json
from typing import Any

from azure.storage.blob import BlobServiceClient

from tests.support.stack import KilnStack


def places(stack: KilnStack, runs: dict[str, str]) -> dict[str, str]:
    """Description → text, for ``runs`` (template name → run id) and the whole stack's logs and blobs."""
    found: dict[str, str] = {}
    for name, run_id in runs.items():
        histories = stack.durable_histories(run_id)
        assert histories, f"{run_id}: devhost knows no orchestration of this run"
        found[f"Durable history of {run_id}"] = json.dumps(histories)
        found[f"{name}: customization.log (API)"] = whole_log(stack, name, run_id)
        responses: list[Any] = [
            stack.client.get_template(name),
            stack.run_doc(name, run_id),
            stack.client.list_runs(name),
            stack.client.run_outputs(name),
        ]
        found[f"{name}: API responses"] = json.dumps(responses)
    found["devhost log"] = (stack.state / "devhost.log").read_text(errors="replace")
    found["every blob in Azurite (customization.log, step output, kiln's documents)"] = all_blobs(stack)
    return found


def exposures(secrets: list[str], texts: dict[str, str]) -> list[str]:
    """Where any of ``secrets`` appears (descriptions only: the secret itself is not repeated)."""
    return [where for where, text in texts.items() if any(secret in text for secret in secrets)]


def whole_log(stack: KilnStack, name: str, run_id: str) -> str:
    text, offset = "", 0
    for _ in range(100):
        chunk = stack.client.read_log(name, run_id, offset=offset)
        text += chunk.text
        if chunk.next_offset == offset or not chunk.text:
            break
        offset = chunk.next_offset
    return text


def all_blobs(stack: KilnStack) -> str:
    service = BlobServiceClient.from_connection_string(stack.proc("azurite").info["connectionString"])
    texts = []
    for container in service.list_containers():
        client = service.get_container_client(container.name)
        for blob in client.list_blobs():
            if blob.size < 10_000_000:  # not the exported disks' page blobs
                texts.append(client.download_blob(blob.name).readall().decode("utf-8", errors="replace"))
    assert texts, "Azurite holds no blob"
    return "\n".join(texts)
