#!/usr/bin/env bash
# Done when there is no bundle on a site with its own sources, or apt reads from the bundle
# only and has read this bundle's index. An air-gapped host without a bundle is not done: the
# step runs and says what is missing.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if [[ ! -d $USTART_BUNDLE_DIR/apt ]]; then
  [[ $USTART_AIR_GAPPED != true ]]
  exit
fi
list=/etc/apt/sources.list.d/ustart-bundle.list
[[ -f $list && ! -e /etc/apt/sources.list ]]
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ $f == "$list" || ! -e $f ]] || exit 1
done
diff -q <(sha256sum "$USTART_BUNDLE_DIR/apt/Release") "$USTART_ROOT/state/apt-release.sha256" >/dev/null
