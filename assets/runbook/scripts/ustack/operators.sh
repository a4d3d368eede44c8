#!/usr/bin/env bash
# Installs cert-manager, the ingress controller and the Yaook operators from the bundle.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
values=$(mktemp -d)
trap 'rm -rf "$values"' EXIT
printf '{}\n' >"$values/empty.yaml"
printf 'crds:\n  enabled: true\n' >"$values/cert-manager.yaml"
helm_release cert-manager "$USTART_CHART_CERT_MANAGER" cert-manager "$values/cert-manager.yaml"
helm_release ingress-nginx "$USTART_CHART_INGRESS_NGINX" ingress-nginx /etc/ustart/ustack/ingress-nginx-values.yaml
helm_release yaook-crds "$USTART_CHART_CRDS" yaook "$values/empty.yaml"
for operator in "${YAOOK_OPERATORS[@]}"; do
  # The bill of materials' version of this operator's chart (USTART_CHART_KEYSTONE_OPERATOR…).
  chart="USTART_CHART_${operator^^}_OPERATOR"
  chart=${chart//-/_}
  [[ -n ${!chart:-} ]] || die "the bill of materials has no chart for Yaook's $operator operator ($chart)"
  helm_release "yaook-$operator" "${!chart}" yaook "$values/empty.yaml"
done
say "the operators are running"
