#!/usr/bin/env bash
# Waits until Flux has applied the workload cluster and Cluster API reports it Ready.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

cluster_ready() {
  [[ $(kubectl -n garden get cluster "$USTART_GARDEN_CLUSTER" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
wait_for "Flux to create the cluster $USTART_GARDEN_CLUSTER" 900 kubectl -n garden get cluster "$USTART_GARDEN_CLUSTER"
wait_for "the cluster $USTART_GARDEN_CLUSTER to be Ready" 3300 cluster_ready
clusterctl describe cluster "$USTART_GARDEN_CLUSTER" -n garden || true
