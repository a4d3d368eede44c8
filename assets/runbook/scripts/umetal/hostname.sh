#!/usr/bin/env bash
# Sets the planned host name and the marked block of planned hosts in /etc/hosts.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if [[ $(hostname) != "$USTART_HOST" ]]; then
  backup_once /etc/hostname
  say "setting the host name to $USTART_HOST (was $(hostname))"
  hostnamectl set-hostname "$USTART_HOST" 2>/dev/null || {
    printf '%s\n' "$USTART_HOST" >/etc/hostname
    hostname "$USTART_HOST"
  }
fi
if hosts_block_current; then
  say "/etc/hosts already lists the planned hosts"
else
  backup_once /etc/hosts
  write_hosts_block
  say "wrote the planned hosts into /etc/hosts"
fi
