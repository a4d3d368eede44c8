#!/usr/bin/env bash
# Done when the service's resource matches the rendered one and is up.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

service=${USTART_STEP#ustack.}
step_files_current
kubectl diff -f "/etc/ustart/ustack/$service.yaml" >/dev/null
yaook_ready "$service"
