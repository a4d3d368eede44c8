#!/usr/bin/env bash
# Creates the Ceph cluster on exactly the planned OSD disks and waits for every OSD.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
say "applying the Ceph cluster: $USTART_CEPH_OSD_TOTAL OSDs on the disks the plan marks ceph-osd"
kubectl apply -f /etc/ustart/manifests/ceph-cluster.yaml
osds_up() {
  local up
  up=$(kubectl -n rook-ceph get deploy -l app=rook-ceph-osd -o jsonpath='{range .items[*]}{.status.readyReplicas}{"\n"}{end}' | grep -c '^1$' || true)
  ((up == USTART_CEPH_OSD_TOTAL))
}
wait_for "$USTART_CEPH_OSD_TOTAL Ceph OSDs to be up" 3000 osds_up
wait_for "Ceph to be healthy (HEALTH_OK, or only the warnings this plan explains: ${USTART_CEPH_ACCEPTED_WARNINGS[*]:-none})" 600 ceph_healthy
say "Ceph is healthy with $USTART_CEPH_OSD_TOTAL OSDs"
