#!/usr/bin/env bash
# uStart: the check of this step, from its runbook YAML.
set -euo pipefail
. /var/lib/ustart/lib.sh
k8s_absent namespace flux-system
