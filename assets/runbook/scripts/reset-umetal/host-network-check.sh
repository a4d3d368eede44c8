#!/usr/bin/env bash
# Done when nothing umetal.host-network made is left: no record of interfaces or addresses,
# no kept MTU, no persisted file, no copy of /etc/network/interfaces. Only reads.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

[[ ! -d $USTART_ROOT/backup/host-network ]]
[[ ! -e /etc/netplan/60-ustart.yaml && ! -e /etc/network/interfaces.d/ustart ]]
[[ ! -e $USTART_ROOT/backup/etc/network/interfaces ]]
