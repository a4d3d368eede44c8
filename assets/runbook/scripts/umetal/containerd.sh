#!/usr/bin/env bash
# Installs containerd and runc with the rendered configuration (systemd cgroups).
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

apt_install containerd runc
install_step_files
if [[ $USTART_CHANGED == 1 ]] || ! systemctl is-active --quiet containerd; then
  say "restarting containerd with the rendered configuration"
  systemctl enable containerd >/dev/null 2>&1 || true
  systemctl restart containerd
fi
wait_for "containerd to answer" 60 ctr version
say "containerd $(ctr version 2>/dev/null | awk '/Version:/ { print $2; exit }') is running"
