"""The durable client binding JSON the Durable extension hands to client functions.

The SDK's ``DurableOrchestrationClient`` reads ``rpcBaseUrl`` for every call (devhost's loopback RPC
listener) and ``managementUrls`` for ``create_check_status_response`` (public URLs under
``/runtime/webhooks/durabletask`` carrying the durable system key as ``code``, like the real host).
"""

from __future__ import annotations

import json
from urllib.parse import quote

WEBHOOK_PATH = "/runtime/webhooks/durabletask"


def binding_json(*, public_base: str, rpc_base: str, hub: str, system_key: str) -> str:
    """The binding JSON string for ``@app.durable_client_input`` parameters."""
    query = f"taskHub={quote(hub)}&connection=Storage&code={quote(system_key)}"
    instance = f"{public_base}{WEBHOOK_PATH}/instances/INSTANCEID"
    management = {
        "id": "INSTANCEID",
        "statusQueryGetUri": f"{instance}?{query}",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{instance}?{query}",
        "restartPostUri": f"{instance}/restart?{query}",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
    }
    orchestrators = f"{public_base}{WEBHOOK_PATH}/orchestrators/{{functionName}}[/{{instanceId}}]"
    creation = {
        "createNewInstancePostUri": f"{orchestrators}?code={quote(system_key)}",
        "createAndWaitOnNewInstancePostUri": f"{orchestrators}?timeout={{timeoutInSeconds}}"
        f"&pollingInterval={{intervalInSeconds}}&code={quote(system_key)}",
    }
    return json.dumps(
        {
            "taskHubName": hub,
            "creationUrls": creation,
            "managementUrls": management,
            "baseUrl": f"{public_base}{WEBHOOK_PATH}",
            "requiredQueryStringParameters": f"code={quote(system_key)}",
            "rpcBaseUrl": f"{rpc_base.rstrip('/')}/durabletask/",
            "httpBaseUrl": "",
        }
    )
