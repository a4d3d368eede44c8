#!/usr/bin/env bash
# Writes the workload cluster's kubeconfig to a private file for the handover.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

out=$(output_file garden-kubeconfig.yaml)
(umask 077 && clusterctl get kubeconfig "$USTART_GARDEN_CLUSTER" -n garden >"$out.tmp")
mv "$out.tmp" "$out"
say "the kubeconfig of $USTART_GARDEN_CLUSTER is in $out (mode 0600); uStart hands it over"
