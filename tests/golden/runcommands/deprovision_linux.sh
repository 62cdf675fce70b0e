#!/bin/bash
# kiln: deprovision
if [ -f /tmp/DeprovisioningScript.sh ]; then
  sh /tmp/DeprovisioningScript.sh
else
  waagent -force -deprovision+user && export HISTSIZE=0 && sync
fi
