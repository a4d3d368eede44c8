#!/usr/bin/env bash
# Done when no OpenStack service resource is left.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

for service in "${YAOOK_REMOVAL_ORDER[@]}"; do
  k8s_absent -n yaook "$(yaook_kind "$service")" "$service"
done
