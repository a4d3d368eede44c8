#!/usr/bin/env bash
# Done when the files are installed, the modules loaded and the sysctls set.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
for module in overlay br_netfilter; do lsmod | grep -qw "^$module"; done
[[ $(sysctl -n net.ipv4.ip_forward) == 1 ]]
[[ $(sysctl -n net.bridge.bridge-nf-call-iptables) == 1 ]]
