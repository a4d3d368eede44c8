#!/usr/bin/env bash
# Done when every operator's Helm release is deployed.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
helm_deployed cert-manager cert-manager
helm_deployed ingress-nginx ingress-nginx
helm_deployed yaook-crds yaook
for operator in "${YAOOK_OPERATORS[@]}"; do helm_deployed "yaook-$operator" yaook; done
