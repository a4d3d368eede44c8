#!/usr/bin/env bash
# Loads the kernel modules and applies the sysctls Kubernetes needs.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
for module in overlay br_netfilter; do
  if ! lsmod | grep -qw "^$module"; then
    say "loading kernel module $module"
    modprobe "$module"
  fi
done
say "applying /etc/sysctl.d/90-ustart.conf"
sysctl -q -p /etc/sysctl.d/90-ustart.conf
