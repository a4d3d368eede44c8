#!/usr/bin/env bash
# Installs Cilium from the bundle's chart with the rendered values.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
helm_release cilium "$USTART_CHART_CILIUM" kube-system /etc/ustart/helm/cilium.yaml
wait_for "Cilium to run on every node" 900 kubectl -n kube-system rollout status daemonset/cilium --timeout=10s
say "the pod network is up"
