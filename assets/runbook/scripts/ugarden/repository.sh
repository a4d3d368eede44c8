#!/usr/bin/env bash
# Creates the repository ustart/garden in Gitea and commits the first workload cluster.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
with_gitea push_cluster
say "clusters/$USTART_GARDEN_CLUSTER.yaml is committed to ustart/garden"
