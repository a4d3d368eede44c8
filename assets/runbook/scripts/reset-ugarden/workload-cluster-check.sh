#!/usr/bin/env bash
# Done when the workload cluster and its namespace are gone.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

k8s_absent namespace garden
