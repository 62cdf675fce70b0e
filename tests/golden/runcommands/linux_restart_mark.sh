#!/bin/bash
# kiln: customize step 0 'setup' attempt 0: mark this boot
set -e
date -u +%Y-%m-%dT%H:%M:%SZ > /run/kiln-restart-pending
