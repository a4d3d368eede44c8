#!/usr/bin/env bash
# uStart: the check of this step, from its runbook YAML.
set -euo pipefail
. /var/lib/ustart/lib.sh
step_files_current && bash "$USTART_ROOT/steps/$USTART_STEP/run.sh" >/dev/null
