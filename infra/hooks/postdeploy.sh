#!/usr/bin/env bash
# azd postdeploy hook (also runnable by hand after `az deployment sub create` and a code deployment): subscribes
# kiln's Event Grid function, source_image_events, to the subscription's system topic, filtered to writes of
# gallery image versions, with undeliverable events dead-lettered to host storage by the topic's identity.
# It runs after the deployment because Event Grid validates that the function exists.
#
# Reads (azd sets them from infra/main.bicep's outputs): KILN_FUNCTION_APP_ID, KILN_SUBSCRIPTION,
# KILN_EVENT_GRID_TOPIC_NAME, KILN_EVENT_GRID_TOPIC_RESOURCE_GROUP, KILN_STORAGE_ACCOUNT_ID,
# KILN_DEAD_LETTER_CONTAINER. Optional: KILN_EVENTS_SUBJECT_PREFIX (default: every resource group of the
# subscription), KILN_EVENT_SUBSCRIPTION_NAME, KILN_HOOK_ATTEMPTS / KILN_HOOK_WAIT_SECONDS (waiting for the
# function to be indexed and for the subscription to be provisioned).
set -euo pipefail

FUNCTION_NAME=source_image_events
EVENTGRID_API=2025-02-15
WEB_API=2024-04-01

for name in KILN_FUNCTION_APP_ID KILN_SUBSCRIPTION KILN_EVENT_GRID_TOPIC_NAME \
  KILN_EVENT_GRID_TOPIC_RESOURCE_GROUP KILN_STORAGE_ACCOUNT_ID KILN_DEAD_LETTER_CONTAINER; do
  if [ -z "${!name:-}" ]; then
    echo "postdeploy: $name is not set (run 'azd provision' first, or export the outputs of infra/main.bicep)" >&2
    exit 2
  fi
done

subscription_name=${KILN_EVENT_SUBSCRIPTION_NAME:-kiln-source-images}
prefix=${KILN_EVENTS_SUBJECT_PREFIX:-/subscriptions/${KILN_SUBSCRIPTION}/resourceGroups/}
attempts=${KILN_HOOK_ATTEMPTS:-30}
wait_seconds=${KILN_HOOK_WAIT_SECONDS:-10}
topic_id="/subscriptions/${KILN_SUBSCRIPTION}/resourceGroups/${KILN_EVENT_GRID_TOPIC_RESOURCE_GROUP}/providers/Microsoft.EventGrid/systemTopics/${KILN_EVENT_GRID_TOPIC_NAME}"
subscription_url="${topic_id}/eventSubscriptions/${subscription_name}?api-version=${EVENTGRID_API}"
function_id="${KILN_FUNCTION_APP_ID}/functions/${FUNCTION_NAME}"

if ! az account show --output none 2>/dev/null; then
  echo "postdeploy: the Azure CLI is not signed in (az login); azd's sign-in does not sign in az" >&2
  exit 2
fi

# Flex indexes the functions of a new package a little after the deployment returns.
for ((i = 1; ; i++)); do
  if az rest --method get --url "${function_id}?api-version=${WEB_API}" --output none 2>/dev/null; then
    break
  fi
  if [ "$i" -ge "$attempts" ]; then
    echo "postdeploy: function ${FUNCTION_NAME} not found in ${KILN_FUNCTION_APP_ID} after ${attempts} tries" >&2
    exit 1
  fi
  sleep "$wait_seconds"
done

# Resource-write events of the whole subscription, narrowed to gallery image versions on Event Grid's side:
# kiln's own builds write many other resources, and each delivery would start the function for nothing.
body=$(
  cat <<EOF
{
  "properties": {
    "destination": {
      "endpointType": "AzureFunction",
      "properties": {
        "resourceId": "${function_id}",
        "maxEventsPerBatch": 1
      }
    },
    "filter": {
      "includedEventTypes": ["Microsoft.Resources.ResourceWriteSuccess"],
      "subjectBeginsWith": "${prefix}",
      "advancedFilters": [
        {
          "operatorType": "StringIn",
          "key": "data.operationName",
          "values": ["Microsoft.Compute/galleries/images/versions/write"]
        }
      ]
    },
    "eventDeliverySchema": "EventGridSchema",
    "retryPolicy": {
      "maxDeliveryAttempts": 30,
      "eventTimeToLiveInMinutes": 1440
    },
    "deadLetterWithResourceIdentity": {
      "identity": {"type": "SystemAssigned"},
      "deadLetterDestination": {
        "endpointType": "StorageBlob",
        "properties": {
          "resourceId": "${KILN_STORAGE_ACCOUNT_ID}",
          "blobContainerName": "${KILN_DEAD_LETTER_CONTAINER}"
        }
      }
    }
  }
}
EOF
)

echo "postdeploy: subscribing ${FUNCTION_NAME} to ${KILN_EVENT_GRID_TOPIC_NAME} (subjects under ${prefix})"
az rest --method put --url "$subscription_url" --body "$body" --output none

# The PUT is asynchronous: Event Grid validates the endpoint before the subscription is usable.
for ((i = 1; ; i++)); do
  state=$(az rest --method get --url "$subscription_url" --query properties.provisioningState --output tsv)
  case "$state" in
    Succeeded)
      echo "postdeploy: event subscription ${subscription_name} is ready"
      exit 0
      ;;
    Failed | Canceled)
      echo "postdeploy: event subscription ${subscription_name} ended ${state}" >&2
      exit 1
      ;;
  esac
  if [ "$i" -ge "$attempts" ]; then
    echo "postdeploy: event subscription ${subscription_name} still ${state:-unknown} after ${attempts} tries" >&2
    exit 1
  fi
  sleep "$wait_seconds"
done
