#!/usr/bin/env bash
# Wipes exactly the disks the plan marks ceph-osd, and Rook's data folder.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if ((${#USTART_CEPH_OSD_DEVICES[@]} == 0)); then
  say "the plan gives $USTART_HOST no ceph-osd disk"
fi
for mapper in /dev/mapper/ceph--*; do
  [[ -e $mapper ]] || continue
  say "removing Ceph's device mapping $(basename "$mapper")"
  dmsetup remove "$mapper" || true
done
for disk in "${USTART_CEPH_OSD_DEVICES[@]}"; do
  [[ -b $disk ]] || die "planned ceph-osd disk $disk is not a block device on $USTART_HOST; check the plan"
  if disk_is_blank "$disk"; then
    say "$disk is already blank"
    continue
  fi
  say "wiping $disk (planned ceph-osd)"
  wipefs --all --force "$disk" >/dev/null
  if command -v sgdisk >/dev/null; then sgdisk --zap-all "$disk" >/dev/null; fi
  dd if=/dev/zero of="$disk" bs=1M count=100 oflag=direct,dsync status=none
  blkdiscard "$disk" 2>/dev/null || true
done
if [[ -e /var/lib/rook ]]; then
  say "removing /var/lib/rook"
  rm -rf /var/lib/rook
fi
