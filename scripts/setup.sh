#!/usr/bin/env bash
# Installs everything kiln's local stack, tests and benchmarks need into .venv and node_modules, and checkov
# (the static checker of infra/) into a venv of its own, .venv-checkov, whose pins would fight kiln's.
# Idempotent: it re-installs only when requirements or package.json changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.kiln-installed
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing Python packages into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e . >&2
  echo "$want" > "$stamp"
fi

if [ ! -x .venv-checkov/bin/python ]; then
  "$PY" -m venv .venv-checkov
fi
ckv_stamp=.venv-checkov/.kiln-installed
ckv_want=$(sha256sum requirements-checkov.txt | cut -d' ' -f1)
if [ ! -x .venv-checkov/bin/checkov ] || [ ! -f "$ckv_stamp" ] || [ "$(cat "$ckv_stamp")" != "$ckv_want" ]; then
  echo "[setup] installing checkov into .venv-checkov" >&2
  ckv_log=$(mktemp)
  if ! .venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt \
    >"$ckv_log" 2>&1; then
    cat "$ckv_log" >&2
    rm -f "$ckv_log"
    exit 1
  fi
  rm -f "$ckv_log"
  echo "$ckv_want" > "$ckv_stamp"
fi

npm_stamp=node_modules/.kiln-installed
npm_want=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -x node_modules/.bin/azurite-blob ] || [ ! -f "$npm_stamp" ] || [ "$(cat "$npm_stamp")" != "$npm_want" ]; then
  echo "[setup] installing Azurite from npm" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
  echo "$npm_want" > "$npm_stamp"
fi

# Local builds with real VMs: QEMU, the base image's tools (mmdebstrap, sfdisk, GRUB) and Packer (the
# benchmark's peer), from Debian's packages, installed only when missing. KILN_VM_PACKAGES=0 skips them;
# without them the local stack simulates every VM.
vm_debs="qemu-system-x86 qemu-utils mmdebstrap fdisk e2fsprogs grub-pc-bin packer"
if [ "${KILN_VM_PACKAGES:-1}" != 0 ] && command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
  need=""
  for deb in $vm_debs; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "ok installed" || need="$need $deb"
  done
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo -n"
  if [ -n "$need" ]; then
    apt_log=$(mktemp)
    # shellcheck disable=SC2086
    if ! { $as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq \
      --no-install-recommends $need; } >"$apt_log" 2>&1; then
      tail -n 20 "$apt_log" >&2
      echo "[setup] could not install$need: local builds will simulate their VMs" >&2
    fi
    rm -f "$apt_log"
  fi
fi
