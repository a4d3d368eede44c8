#!/usr/bin/env bash
# Uninstalls the operators, ingress and cert-manager, and the Ceph pools and clients.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if cluster_gone; then
  say "there is no cluster on $USTART_HOST any more (uMetal is reset): no operators to remove"
else
  # The releases first: deleting their namespace first (infra.yaml holds the namespace yaook)
  # would leave Helm nothing to uninstall, and what the charts made outside the namespace
  # (cluster roles, webhooks) would stay behind.
  releases=()
  # yaook-placement: installed by uStart before Placement moved into Nova.
  for operator in "${YAOOK_OPERATORS[@]}" placement; do releases+=("yaook-$operator:yaook"); done
  releases+=(yaook-crds:yaook ingress-nginx:ingress-nginx cert-manager:cert-manager)
  for entry in "${releases[@]}"; do
    release=${entry%%:*} namespace=${entry##*:}
    if helm status "$release" --namespace "$namespace" >/dev/null 2>&1; then
      say "uninstalling $release"
      helm uninstall "$release" --namespace "$namespace" --wait
    fi
  done
  if [[ -f /etc/ustart/ustack/infra.yaml ]]; then
    say "removing the issuer, the Ceph pools and clients, and the public VIP Service"
    kubectl delete -f /etc/ustart/ustack/infra.yaml --ignore-not-found --wait >/dev/null
  fi
  for namespace in yaook ingress-nginx cert-manager; do
    kubectl delete namespace "$namespace" --ignore-not-found --wait >/dev/null
  done
  mapfile -t crds < <(kubectl get crd -o name | grep -E '\.(yaook\.cloud|cert-manager\.io)$' || true)
  if ((${#crds[@]} > 0)); then
    say "removing ${#crds[@]} CRDs of Yaook and cert-manager"
    kubectl delete "${crds[@]}" >/dev/null
  fi
fi
rm -rf /etc/ustart/ustack "$USTART_ROOT/state/smoke-test.passed"
say "the operators are removed"
