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
helm_release cert-manager 'charts/cert-manager-v*.tgz' cert-manager "$values/cert-manager.yaml"
helm_release ingress-nginx "$USTART_CHART_INGRESS_NGINX" ingress-nginx /etc/ustart/ustack/ingress-nginx-values.yaml
helm_release yaook-crds 'charts/crds-*.tgz' yaook "$values/empty.yaml"
for operator in "${YAOOK_OPERATORS[@]}"; do
  helm_release "yaook-$operator" "charts/$operator-operator-*.tgz" yaook "$values/empty.yaml"
done
say "the operators are running"
