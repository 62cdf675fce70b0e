#!/bin/bash
# kiln: customize step 0 'setup' attempt 0
set -e
f=$(mktemp /tmp/kiln-XXXXXX)
trap 'rm -f "$f"' EXIT
base64 -d > "$f" <<'KILN_EOF'
IyEvYmluL3NoIC1lCmFwdC1nZXQgdXBkYXRlCmVjaG8gJ2RvbmUnCg==
KILN_EOF
interp=/bin/bash
if [ "$(head -c 2 "$f")" = "#!" ]; then interp=$(head -n 1 "$f" | cut -c 3-); fi
$interp "$f"
