#!/usr/bin/env bash
# The main job, locally: set up, then start Azurite + azuresim + kiln (under devhost), create every template of
# examples/ with the kiln CLI, build each with live progress, print the run outputs and stop everything.
# LOCAL MODE SIMULATES AZURE (azuresim): no VM is created and nothing is billed.
# Extra arguments go to the demo, e.g. scripts/local.sh --example ubuntu-2404-gallery-3-regions
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. .venv/bin/activate
echo "== kiln validate examples/*.json (offline)"
kiln validate examples/*.json
echo "== python -m cli.local_stack demo   (its 'web page' line is the address to watch the builds in a browser)"
status=0
python -m cli.local_stack demo "$@" || status=$?
echo "== to keep a stack with its web page running: . .venv/bin/activate && python -m cli.local_stack up (docs/web.md)"
exit "$status"
