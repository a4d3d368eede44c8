#!/usr/bin/env bash
# Imports the bundle's image archives into containerd and tags them for the site.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

marker=$USTART_ROOT/state/images.sha256
archives=()
if [[ -d $USTART_BUNDLE_DIR/images ]]; then
  mapfile -t archives < <(find "$USTART_BUNDLE_DIR/images" -type f -name '*.tar' | sort)
fi
if ((${#archives[@]} == 0)); then
  say "no image archives in the bundle: images will be pulled from their registries"
  exit 0
fi
for archive in "${archives[@]}"; do
  say "importing $(basename "$archive")"
  ctr -n k8s.io images import --all-platforms "$archive" >/dev/null
done
if [[ $USTART_AIR_GAPPED == true ]]; then
  # The manifests name images under the site-local registry name; give each image that name too.
  while read -r ref; do
    [[ $ref == "$USTART_LOCAL_REGISTRY"/* || $ref == sha256:* ]] && continue
    ctr -n k8s.io images tag --force "$ref" "$USTART_LOCAL_REGISTRY/${ref#*/}" >/dev/null
  done < <(ctr -n k8s.io images list -q)
  say "tagged the images under $USTART_LOCAL_REGISTRY"
fi
install -d -m 0755 "$(dirname "$marker")"
sha256sum "${archives[@]}" >"$marker"
say "imported ${#archives[@]} image archives"
