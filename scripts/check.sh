#!/usr/bin/env bash
# Every test and check kiln has: ruff (lint + format), mypy, pytest (unit, integration and e2e).
# Extra arguments go to pytest, e.g. scripts/check.sh -k devhost.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. .venv/bin/activate
export PATH="$PWD/node_modules/.bin:$PATH"

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy shared orchestrators activities functions cli function_app.py devhost azuresim
echo "== pytest"
# setup.sh installed QEMU and the base image tools: a VM test that finds them missing fails, never skips.
export KILN_REQUIRE_VMS="${KILN_REQUIRE_VMS:-1}"
pytest "$@"
