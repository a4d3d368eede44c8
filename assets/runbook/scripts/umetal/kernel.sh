#!/usr/bin/env bash
# Loads the kernel modules and applies the sysctls Kubernetes needs.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
while read -r module; do
  if kernel_has_module "$module"; then
    say "kernel module $module is already loaded or built in"
    continue
  fi
  command -v modprobe >/dev/null || die "kernel module $module is missing and there is no modprobe on $USTART_HOST; install kmod"
  say "loading kernel module $module"
  modprobe "$module"
done < <(config_lines /etc/modules-load.d/ustart.conf)
say "applying /etc/sysctl.d/90-ustart.conf"
sysctl -q -p /etc/sysctl.d/90-ustart.conf
