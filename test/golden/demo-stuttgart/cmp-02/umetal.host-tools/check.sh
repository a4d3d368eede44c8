#!/usr/bin/env bash
# uStart: the check of this step, from its runbook YAML.
set -euo pipefail
. /var/lib/ustart/lib.sh
command -v curl git openssl dmsetup ip modprobe sysctl ping update-ca-certificates >/dev/null
