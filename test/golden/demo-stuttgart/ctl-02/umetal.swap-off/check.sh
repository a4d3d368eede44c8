#!/usr/bin/env bash
# uStart: the check of this step, from its runbook YAML.
set -euo pipefail
. /var/lib/ustart/lib.sh
[[ -z $(swapon --noheadings --show) ]] && ! grep -qE "^[^#].*[[:space:]]swap[[:space:]]" /etc/fstab
