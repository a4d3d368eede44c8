#!/usr/bin/env bash
# Done when the repository holds exactly the rendered workload cluster.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
with_gitea repository_current
