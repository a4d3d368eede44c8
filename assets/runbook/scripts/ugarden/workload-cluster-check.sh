#!/usr/bin/env bash
# Done when the workload cluster is Ready.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

[[ $(kubectl -n garden get cluster "$USTART_GARDEN_CLUSTER" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
