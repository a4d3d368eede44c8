#!/usr/bin/env bash
# Installs kube-prometheus-stack (Prometheus, Alertmanager, Grafana) from the bundle.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
ensure_password_secret monitoring grafana-admin admin-user admin admin-password
dashboard=$USTART_BUNDLE_DIR/files/dashboards/ceph-cluster.json
if [[ -f $dashboard ]]; then
  say "adding the Ceph dashboard to Grafana"
  kubectl -n monitoring create configmap grafana-dashboard-ceph --from-file=ceph-cluster.json="$dashboard" \
    --dry-run=client -o yaml | kubectl label --local -f - grafana_dashboard=1 -o yaml | kubectl apply -f - >/dev/null
fi
helm_release monitoring "$USTART_CHART_KUBE_PROMETHEUS_STACK" monitoring /etc/ustart/helm/monitoring.yaml
say "monitoring is installed"
