#!/usr/bin/env bash
# Waits until every planned server is a Ready node.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

all_ready() {
  local node
  for node in "${USTART_NODE_NAMES[@]}"; do
    [[ $(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]] || return 1
  done
}
wait_for "all ${#USTART_NODE_NAMES[@]} nodes to be Ready" 1500 all_ready
kubectl get nodes -o wide
