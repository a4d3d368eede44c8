#!/usr/bin/env bash
# Done when there is no bundle, or apt already reads from the bundle only.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

[[ -d $USTART_BUNDLE_DIR/apt ]] || exit 0
list=/etc/apt/sources.list.d/ustart-bundle.list
[[ -f $list ]] || exit 1
others=$(find /etc/apt/sources.list /etc/apt/sources.list.d -maxdepth 1 \( -name '*.list' -o -name '*.sources' -o -name sources.list \) ! -path "$list" 2>/dev/null)
[[ -z $others ]]
