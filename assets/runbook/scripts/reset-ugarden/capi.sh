#!/usr/bin/env bash
# Removes every Cluster API provider with its CRDs and namespaces.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if cluster_gone; then
  say "there is no cluster on $USTART_HOST any more (uMetal is reset): nothing to remove"
  exit 0
fi
say "removing Cluster API and CAPO"
clusterctl delete --all --include-crd --include-namespace
say "Cluster API is removed"
