#!/usr/bin/env bash
# Done when the applied cluster matches the rendered one and Ceph is healthy.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
kubectl diff -f /etc/ustart/manifests/ceph-cluster.yaml >/dev/null
ceph_healthy
