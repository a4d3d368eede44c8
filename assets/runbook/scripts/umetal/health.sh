#!/usr/bin/env bash
# Checks nodes, system pods and Ceph, and records the monitoring URLs for the handover.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
problems=0
for node in "${USTART_NODE_NAMES[@]}"; do
  if [[ $(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) != True ]]; then
    warn "node $node is not Ready"
    problems=$((problems + 1))
  fi
done
not_running=$(kubectl -n kube-system get pods --no-headers 2>/dev/null | awk '$3 != "Running" && $3 != "Completed" { print $1 }')
if [[ -n $not_running ]]; then
  warn "kube-system pods not running: $(paste -sd' ' <<<"$not_running")"
  problems=$((problems + 1))
fi
if ! ceph_healthy; then
  warn "Ceph does not report HEALTH_OK"
  problems=$((problems + 1))
fi
((problems == 0)) || die "$problems health problems; see the warnings above"
say "the cluster is healthy; monitoring URLs are in /etc/ustart/handover/monitoring.json"
