#!/bin/bash
# kiln: customize step 0 'setup' attempt 0
set -e
kiln_fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --retry 5 --retry-delay 2 --connect-timeout 30 -o "$3" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=5 -O "$3" "$1"
  else
    printf 'kiln: the build VM has neither curl nor wget to download the staged artifact
' >&2; false
  fi || { printf 'kiln: downloading the staged artifact from staging failed\n' >&2; return 1; }
  printf '%s  %s\n' "$2" "$3" | sha256sum -c --status \
    || { printf 'kiln: the downloaded artifact does not have sha256 %s\n' "$2" >&2; return 1; }
}
kiln_fetch 'https://kilnstaging0123456789.blob.core.windows.net/artifacts/run-1/customize/0?sv=2024-08-04&sp=r&sig=SIG' '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' '/tmp/app.tar.gz.kiln-part'
mv -f '/tmp/app.tar.gz.kiln-part' '/tmp/app.tar.gz'
