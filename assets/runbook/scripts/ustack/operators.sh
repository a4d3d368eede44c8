#!/usr/bin/env bash
# Installs cert-manager, the ingress controller and the Yaook operators from the bundle.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

empty_values=$(mktemp)
trap 'rm -f "$empty_values"' EXIT
printf '{}\n' >"$empty_values"
printf 'crds:\n  enabled: true\n' >"$empty_values.cert-manager"
trap 'rm -f "$empty_values" "$empty_values.cert-manager"' EXIT
helm_release cert-manager 'charts/cert-manager-v*.tgz' cert-manager "$empty_values.cert-manager"
helm_release ingress-nginx 'charts/ingress-nginx-*.tgz' ingress-nginx "$empty_values"
helm_release yaook-crds 'charts/crds-*.tgz' yaook "$empty_values"
for operator in "${YAOOK_OPERATORS[@]}"; do
  helm_release "yaook-$operator" "charts/$operator-operator-*.tgz" yaook "$empty_values"
done
say "the operators are running"
