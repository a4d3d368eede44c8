#!/usr/bin/env bash
# Done when the rendered files and the persisted OS file are current and every planned
# interface is live as planned (the management path as the plan needs it). Only reads.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
if [[ -n $(host_network_rows make) ]]; then
  cmp -s "$HOST_NETWORK_STAGED" "$(host_network_config_path)"
fi
[[ -z $(host_network_problems all) ]]
