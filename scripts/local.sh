#!/usr/bin/env bash
# The main job, locally: set up, then start Azurite + azuresim + kiln (under devhost), create every template of
# examples/ with the kiln CLI, build each with live progress, print the run outputs and stop everything.
# Azure's control plane is simulated (azuresim) and nothing is billed. With QEMU installed (scripts/setup.sh
# installs it from Debian's packages) the Debian 12 example builds on a real VM: its scripts really run, and
# its captured VHD is booted afterwards to show what the build put in it. Every other source is simulated.
# Extra arguments go to the demo, e.g. scripts/local.sh --example debian-12-local-vm
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. .venv/bin/activate
echo "== kiln validate examples/*.json (offline)"
kiln validate examples/*.json
if command -v qemu-system-x86_64 >/dev/null && command -v mmdebstrap >/dev/null; then
  echo "== python -m azuresim.qemu build-base (the Debian 12 base image, built once per machine)"
  python -m azuresim.qemu build-base || echo "no base image: every build VM will be simulated" >&2
else
  echo "== QEMU is not installed: every build VM will be simulated (scripts/setup.sh installs it)"
fi
echo "== python -m cli.local_stack demo   (its 'web page' line is the address to watch the builds in a browser)"
status=0
python -m cli.local_stack demo "$@" || status=$?
echo "== to keep a stack with its web page running: . .venv/bin/activate && python -m cli.local_stack up (docs/web.md)"
exit "$status"
