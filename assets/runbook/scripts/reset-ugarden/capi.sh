#!/usr/bin/env bash
# Removes every Cluster API provider with its CRDs and namespaces.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

say "removing Cluster API and CAPO"
clusterctl delete --all --include-crd --include-namespace
say "Cluster API is removed"
