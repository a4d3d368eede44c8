#!/usr/bin/env bash
# The site registry on this controller (air-gapped sites only): Debian's docker-registry
# serves the bundle's images read-only on the management address, each under its upstream
# name with the upstream registry as the first path part (docker.io/library/nginx), which is
# where every host's containerd hosts.toml sends that registry. The images are pushed through
# a second registry process on loopback only, writable, sharing the storage, stopped after.
# Why: docs/bundle-format.md "The site registry".
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if [[ $USTART_AIR_GAPPED != true ]]; then
  say "connected site: containerd pulls from the upstream registries, no site registry"
  exit 0
fi
apt_install docker-registry skopeo jq
install_step_files
config=/etc/docker/registry/config.yml
writer_config=/etc/docker/registry/writer.yml
storage=/var/lib/docker-registry
addr() { awk '$1 == "addr:" { print $2; exit }' "$1"; }
served=$(addr "$config")
writer=$(addr "$writer_config")
install -d -m 0755 -o docker-registry -g docker-registry "$storage"

if [[ $USTART_CHANGED == 1 ]] || ! systemctl is-active --quiet docker-registry; then
  say "restarting the site registry with the rendered configuration"
  systemctl enable docker-registry >/dev/null 2>&1 || true
  systemctl restart docker-registry
fi
wait_for "the site registry to answer on $served" 60 curl -fsS "http://$served/v2/"

marker=$USTART_ROOT/state/site-registry.sha256
archives=()
if [[ -d $USTART_BUNDLE_DIR/images ]]; then
  mapfile -t archives < <(find "$USTART_BUNDLE_DIR/images" -type f -name '*.tar' | sort)
fi
if ((${#archives[@]} == 0)); then
  say "no image archives in the bundle: the site registry stays empty"
  exit 0
fi
if [[ -f $marker ]] && diff -q <(sha256sum "${archives[@]}") "$marker" >/dev/null; then
  say "the bundle's images are in the site registry already"
  exit 0
fi

work=$(mktemp -d "$USTART_ROOT/site-registry.XXXXXX")
writer_pid=
stop_writer() {
  [[ -n $writer_pid ]] && kill "$writer_pid" 2>/dev/null && wait "$writer_pid" 2>/dev/null
  rm -rf "$work"
}
trap stop_writer EXIT
say "starting the loopback writer on $writer"
setpriv --reuid=docker-registry --regid=docker-registry --init-groups docker-registry serve "$writer_config" >"$work/writer.log" 2>&1 &
writer_pid=$!
wait_for "the loopback writer to answer on $writer" 60 curl -fsS "http://$writer/v2/"

pushed=0
for archive in "${archives[@]}"; do
  # Docker archives (docker save) carry no registry manifests; skopeo would rebuild and
  # recompress them, changing the digests the bundle's users pin. Only OCI layouts are served.
  tar -tf "$archive" oci-layout >/dev/null 2>&1 ||
    die "$(basename "$archive") is not an OCI image layout (a docker save archive?): the site registry serves OCI layouts only." \
      "Rebuild the bundle with ustart bundle create --image REF (or add the image as an OCI archive)."
  layout=$work/layout
  rm -rf "$layout" && mkdir -p "$layout"
  tar -xf "$archive" -C "$layout"
  cp "$layout/index.json" "$work/index.all.json"
  count=$(jq '.manifests | length' "$work/index.all.json")
  for ((i = 0; i < count; i++)); do
    name=$(jq -r --argjson i "$i" '.manifests[$i].annotations["io.containerd.image.name"] // empty' "$work/index.all.json")
    [[ -n $name ]] || die "$(basename "$archive"): image $i of its index.json has no io.containerd.image.name annotation;" \
      "rebuild the bundle with ustart bundle create"
    # A layout of this one image: skopeo reads the only entry whatever its media type
    # (docs/upstream-facts.md#oci-skopeo-docker-types).
    jq --argjson i "$i" '.manifests = [.manifests[$i]]' "$work/index.all.json" >"$layout/index.json"
    dest=$writer/$(site_registry_path "$name")
    say "pushing $name"
    skopeo copy --quiet --all --preserve-digests --dest-tls-verify=false \
      "oci:$layout" "docker://$dest"
    pushed=$((pushed + 1))
  done
done
install -d -m 0755 "$(dirname "$marker")"
sha256sum "${archives[@]}" >"$marker"
say "pushed $pushed images from ${#archives[@]} archives into the site registry on $served"
