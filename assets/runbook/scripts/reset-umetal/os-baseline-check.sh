#!/usr/bin/env bash
# Done when no trace of the OS baseline is left.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if grep -qxF "$HOSTS_BEGIN" /etc/hosts; then exit 1; fi
for f in /etc/modules-load.d/ustart.conf /etc/sysctl.d/90-ustart.conf /etc/apt/sources.list.d/ustart-bundle.list; do
  [[ ! -e $f ]]
done
[[ ! -d $USTART_ROOT/backup/etc ]] || [[ -z $(find "$USTART_ROOT/backup/etc" -type f) ]]
