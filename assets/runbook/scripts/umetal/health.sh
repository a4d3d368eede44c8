#!/usr/bin/env bash
# Checks nodes, system pods and Ceph, and records the monitoring URLs for the handover.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
problems=$(health_problems)
if [[ -n $problems ]]; then
  while IFS= read -r problem; do warn "$problem"; done <<<"$problems"
  die "$(wc -l <<<"$problems") health problems; see the warnings above"
fi
say "the cluster is healthy; monitoring URLs are in /etc/ustart/handover/monitoring.json"
