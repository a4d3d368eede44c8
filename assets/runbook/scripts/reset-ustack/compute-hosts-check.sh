#!/usr/bin/env bash
# Done when nothing of Nova, libvirt or OVN is left.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

for bridge in br-ex br-int; do
  if ip link show "$bridge" >/dev/null 2>&1; then exit 1; fi
done
for dir in /var/lib/nova /var/lib/libvirt /var/lib/openvswitch /run/openvswitch /etc/openvswitch /var/lib/ovn /run/ovn; do
  [[ ! -e $dir ]]
done
