#!/usr/bin/env bash
# Removes every Cluster API provider with its CRDs and namespaces, and ORC.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if cluster_gone; then
  say "there is no cluster on $USTART_HOST any more (uMetal is reset): nothing to remove"
  exit 0
fi
say "removing Cluster API, CAPO and ORC"
clusterctl delete --all --include-crd --include-namespace
# ORC after CAPO, which watches its Images: its namespace and CRD go with its manifest.
kubectl delete -f "$USTART_ORC_INSTALL" --ignore-not-found >/dev/null
say "Cluster API is removed"
