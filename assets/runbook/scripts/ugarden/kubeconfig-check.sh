#!/usr/bin/env bash
# Done when the handed-out kubeconfig is private and still the cluster's current one.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

out=$USTART_ROOT/out/garden-kubeconfig.yaml
[[ -f $out && $(stat -c %a "$out") == 600 ]]
cmp -s "$out" <(clusterctl get kubeconfig "$USTART_GARDEN_CLUSTER" -n garden 2>/dev/null)
