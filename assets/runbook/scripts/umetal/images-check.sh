#!/usr/bin/env bash
# Done when the same archives were imported before (their checksums are recorded).
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

marker=$USTART_ROOT/state/images.sha256
[[ -d $USTART_BUNDLE_DIR/images ]] || exit 0
[[ -f $marker ]] || exit 1
mapfile -t archives < <(find "$USTART_BUNDLE_DIR/images" -type f -name '*.tar' | sort)
((${#archives[@]} > 0)) || exit 0
diff -q <(sha256sum "${archives[@]}") "$marker" >/dev/null
