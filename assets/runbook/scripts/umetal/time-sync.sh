#!/usr/bin/env bash
# Installs chrony and points it at the plan's NTP servers only.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

apt_install chrony
backup_once /etc/chrony/chrony.conf
install_step_files
if [[ $USTART_CHANGED == 1 ]] || ! systemctl is-active --quiet chrony; then
  say "restarting chrony with the NTP servers: ${USTART_NTP_SERVERS[*]}"
  systemctl enable chrony >/dev/null 2>&1 || true
  systemctl restart chrony
fi
say "time sync: $(chronyc -n tracking 2>/dev/null | awk -F': ' '/^Leap status/ { print $2 }' || echo unknown)"
