#!/usr/bin/env bash
# uStart: the check of this step, from its runbook YAML.
set -euo pipefail
. /var/lib/ustart/lib.sh
step_files_current && helm_deployed loki logging && helm_deployed alloy logging && ! helm_deployed promtail logging
