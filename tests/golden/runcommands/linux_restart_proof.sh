#!/bin/bash
# kiln: customize step 0 'setup' attempt 0: has the VM restarted?
booted=$(uptime -s)
if [ -e /run/kiln-restart-pending ]; then echo "kiln: not restarted yet (up since $booted)"; exit 75; fi
echo "kiln: restarted (up since $booted)"
