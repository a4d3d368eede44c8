#!/usr/bin/env bash
# Done when every planned ceph-osd disk is blank and Rook's folder is gone.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

[[ ! -e /var/lib/rook ]]
for disk in "${USTART_CEPH_OSD_DEVICES[@]}"; do
  disk_is_blank "$disk"
done
