#!/usr/bin/env bash
# Turns swap off now and for every boot.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if [[ -n $(swapon --noheadings --show) ]]; then
  say "turning swap off"
  swapoff -a
fi
if grep -qE '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab; then
  backup_once /etc/fstab
  say "commenting the swap lines out of /etc/fstab"
  sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# disabled by uStart: \1/' /etc/fstab
fi
say "swap is off"
