#!/usr/bin/env bash
# Installs the Rook-Ceph operator from the bundle's chart.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
helm_release rook-ceph "$USTART_CHART_ROOK_CEPH" rook-ceph /etc/ustart/helm/rook-ceph.yaml
say "the Rook operator is running"
