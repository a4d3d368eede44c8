#!/usr/bin/env bash
# Installs Loki and Grafana Alloy from the bundle's charts; removes the Promtail release an
# older uStart installed (Promtail is end of life, Alloy collects the logs now).
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
helm_release loki "$USTART_CHART_LOKI" logging /etc/ustart/helm/loki.yaml
helm_release alloy "$USTART_CHART_ALLOY" logging /etc/ustart/helm/alloy.yaml
if helm_deployed promtail logging; then
  say "removing the Promtail release: Alloy collects the logs now"
  helm uninstall promtail --namespace logging
fi
say "logging is installed"
