#!/usr/bin/env bash
# Done on a connected site, or when the rendered configuration is installed, the registry
# answers, and the same archives were pushed before (their checksums are recorded).
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

[[ $USTART_AIR_GAPPED == true ]] || exit 0
step_files_current
systemctl is-active --quiet docker-registry
served=$(awk '$1 == "addr:" { print $2; exit }' /etc/docker/registry/config.yml)
curl -fsS "http://$served/v2/" >/dev/null
marker=$USTART_ROOT/state/site-registry.sha256
[[ -d $USTART_BUNDLE_DIR/images ]] || exit 0
mapfile -t archives < <(find "$USTART_BUNDLE_DIR/images" -type f -name '*.tar' | sort)
((${#archives[@]} > 0)) || exit 0
[[ -f $marker ]] && diff -q <(sha256sum "${archives[@]}") "$marker" >/dev/null
