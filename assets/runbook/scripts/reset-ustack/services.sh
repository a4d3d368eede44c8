#!/usr/bin/env bash
# Deletes the OpenStack services in reverse order and waits until their operators are done.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if cluster_gone; then
  say "there is no cluster on $USTART_HOST any more (uMetal is reset): nothing to remove"
  exit 0
fi
for service in "${YAOOK_REMOVAL_ORDER[@]}"; do
  kind=$(yaook_kind "$service")
  if kubectl -n yaook get "$kind" "$service" >/dev/null 2>&1; then
    say "deleting $service"
    kubectl -n yaook delete "$kind" "$service" --wait --timeout=20m
  fi
done
say "the OpenStack services are removed"
