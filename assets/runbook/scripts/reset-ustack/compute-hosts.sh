#!/usr/bin/env bash
# Removes what Nova, libvirt and OVN leave on a compute node.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

for bridge in br-ex br-int; do
  if ip link show "$bridge" >/dev/null 2>&1; then
    say "removing the Open vSwitch bridge $bridge"
    ip link delete "$bridge" || true
  fi
done
for dir in /var/lib/nova /var/lib/libvirt /var/lib/openvswitch /run/openvswitch /etc/openvswitch /var/lib/ovn /run/ovn; do
  if [[ -e $dir ]]; then
    say "removing $dir"
    rm -rf "$dir"
  fi
done
say "the compute node is clean"
