#!/usr/bin/env bash
# Done when there is no bundle, or apt reads from the bundle only and has read this bundle's index.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

[[ -d $USTART_BUNDLE_DIR/apt ]] || exit 0
list=/etc/apt/sources.list.d/ustart-bundle.list
[[ -f $list && ! -e /etc/apt/sources.list ]]
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ $f == "$list" || ! -e $f ]] || exit 1
done
diff -q <(sha256sum "$USTART_BUNDLE_DIR/apt/Release") "$USTART_ROOT/state/apt-release.sha256" >/dev/null
