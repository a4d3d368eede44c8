#!/usr/bin/env bash
# Stops Flux from re-creating the workload cluster, then deletes it with its VMs.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if cluster_gone; then
  say "there is no cluster on $USTART_HOST any more (uMetal is reset): nothing to remove"
  exit 0
fi
if kubectl -n flux-system get kustomization clusters >/dev/null 2>&1; then
  say "suspending Flux's sync so the cluster is not re-created"
  kubectl -n flux-system patch kustomization clusters --type merge -p '{"spec":{"suspend":true}}' >/dev/null
fi
if kubectl -n garden get cluster "$USTART_GARDEN_CLUSTER" >/dev/null 2>&1; then
  say "deleting the cluster $USTART_GARDEN_CLUSTER (CAPO removes its VMs)"
  kubectl -n garden delete cluster "$USTART_GARDEN_CLUSTER" --wait --timeout=40m
fi
kubectl delete namespace garden --ignore-not-found --wait >/dev/null
say "the workload cluster is gone"
