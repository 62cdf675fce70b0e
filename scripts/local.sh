#!/usr/bin/env bash
# The main job, locally: validate every template in examples/ offline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. .venv/bin/activate
kiln validate examples/*.json
