#!/usr/bin/env bash
# Done when every planned server is already a Ready node.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

for node in "${USTART_NODE_NAMES[@]}"; do
  [[ $(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
done
