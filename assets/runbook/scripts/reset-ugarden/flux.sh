#!/usr/bin/env bash
# Removes Flux's sync objects and Flux.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if cluster_gone; then
  say "there is no cluster on $USTART_HOST any more (uMetal is reset): nothing to remove"
  exit 0
fi
if [[ -f /etc/ustart/garden/flux-sync.yaml ]]; then
  kubectl delete -f /etc/ustart/garden/flux-sync.yaml --ignore-not-found >/dev/null
fi
flux_manifest=$(compgen -G "$USTART_BUNDLE_DIR/files/flux/install.yaml" || true)
if [[ -n $flux_manifest ]]; then
  say "removing Flux"
  kubectl delete -f "$flux_manifest" --ignore-not-found --wait >/dev/null
fi
kubectl delete namespace flux-system --ignore-not-found --wait >/dev/null
say "Flux is removed"
