#!/usr/bin/env bash
# Installs everything kiln's local stack, tests and benchmarks need into .venv and node_modules, and checkov
# (the static checker of infra/) into a venv of its own, .venv-checkov, whose pins would fight kiln's; and
# Debian's Chromium (for the web page's browser tests) through apt when no Chromium is installed.
# Idempotent: it re-installs only when requirements or package.json changed since the last run. Quiet: one
# line per step; an installer's output is shown only when it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# quietly CMD...: run CMD with its output in $log; on failure print that output and stop.
quietly() {
  if ! "$@" >"$log" 2>&1; then
    echo "[setup] failed: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

if [ ! -x .venv/bin/python ]; then
  quietly "$PY" -m venv .venv
fi
stamp=.venv/.kiln-installed
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing Python packages into .venv" >&2
  pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
  quietly "${pip[@]}" --upgrade pip
  quietly "${pip[@]}" -r requirements-dev.txt
  quietly "${pip[@]}" --no-deps -e .
  echo "$want" > "$stamp"
fi

if [ ! -x .venv-checkov/bin/python ]; then
  quietly "$PY" -m venv .venv-checkov
fi
ckv_stamp=.venv-checkov/.kiln-installed
ckv_want=$(sha256sum requirements-checkov.txt | cut -d' ' -f1)
if [ ! -x .venv-checkov/bin/checkov ] || [ ! -f "$ckv_stamp" ] || [ "$(cat "$ckv_stamp")" != "$ckv_want" ]; then
  echo "[setup] installing checkov into .venv-checkov" >&2
  quietly .venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
  echo "$ckv_want" > "$ckv_stamp"
fi

npm_stamp=node_modules/.kiln-installed
npm_want=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -x node_modules/.bin/azurite-blob ] || [ ! -f "$npm_stamp" ] || [ "$(cat "$npm_stamp")" != "$npm_want" ]; then
  echo "[setup] installing Azurite and playwright-core from npm" >&2
  if [ -f package-lock.json ]; then
    quietly npm ci --no-audit --no-fund
  else
    quietly npm install --no-audit --no-fund
  fi
  echo "$npm_want" > "$npm_stamp"
fi

# The browser the web page's tests drive (tests/web; KILN_CHROMIUM names another one).
if [ -z "${KILN_CHROMIUM:-}" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "[setup] installing Chromium (Debian's package) for the web page's browser tests" >&2
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium)
    "${apt[@]}" >"$log" 2>&1 || quietly sh -c 'apt-get update -q && "$@"' apt "${apt[@]}"
  else
    echo "[setup] note: no Chromium found; the browser tests (tests/web) need one: apt-get install chromium" >&2
  fi
fi

# Local builds with real VMs: QEMU, the base image's tools (mmdebstrap, sfdisk, GRUB for BIOS and for UEFI,
# the FAT tools of the Gen2 variant's EFI partition), OVMF (a Gen2 VM's UEFI firmware) and Packer (the
# benchmark's peer), from Debian's packages, installed only when missing, quietly. KILN_VM_PACKAGES=0 skips
# them; without them the local stack simulates every VM.
vm_debs="qemu-system-x86 qemu-utils mmdebstrap fdisk e2fsprogs grub-pc-bin grub-efi-amd64-bin ovmf dosfstools"
vm_debs="$vm_debs mtools packer"
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
