#!/usr/bin/env bash
# Installs Loki and Promtail from the bundle's charts.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
helm_release loki 'charts/loki-*.tgz' logging /etc/ustart/helm/loki.yaml
promtail_values=$(mktemp)
trap 'rm -f "$promtail_values"' EXIT
printf 'config:\n  clients:\n    - url: http://loki-gateway.logging.svc.cluster.local/loki/api/v1/push\n' >"$promtail_values"
helm_release promtail 'charts/promtail-*.tgz' logging "$promtail_values"
say "logging is installed"
