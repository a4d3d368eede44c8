#!/usr/bin/env bash
# Done when the service's resource matches the rendered one (with Rook's monitors and fsid as
# they are now) and is up.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

service=${USTART_STEP#ustack.}
step_files_current
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
yaook_resource "$service" "$work/$service.yaml"
kubectl diff -f "$work/$service.yaml" >/dev/null
yaook_ready "$service"
