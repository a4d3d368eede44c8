#!/usr/bin/env bash
# Done when the files are installed, the modules there and the sysctls set.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
while read -r module; do kernel_has_module "$module"; done < <(config_lines /etc/modules-load.d/ustart.conf)
while IFS='=' read -r key value; do
  key=${key%"${key##*[![:space:]]}"}
  [[ $(sysctl -n "$key") == "${value#"${value%%[![:space:]]*}"}" ]]
done < <(config_lines /etc/sysctl.d/90-ustart.conf)
