#!/usr/bin/env bash
# Points apt at the bundle's repository when a checked bundle is on this host. An air-gapped
# site has no other source, so there it is an error to find none.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

list=/etc/apt/sources.list.d/ustart-bundle.list
# Written by the umetal.bundle step once every file of the bundle checked on this host.
marker=$USTART_BUNDLE_DIR/.ustart-verified
verified=false
if [[ -f $marker && -f $USTART_BUNDLE_DIR/bundle.json && -d $USTART_BUNDLE_DIR/apt ]]; then
  manifest_sha=$(sha256sum <"$USTART_BUNDLE_DIR/bundle.json")
  [[ ${manifest_sha%% *} == "$(<"$marker")" ]] && verified=true
fi
if [[ $verified != true ]]; then
  if [[ $USTART_AIR_GAPPED == true ]]; then
    if [[ -e $USTART_BUNDLE_DIR/bundle.json ]]; then
      found="a bundle at $USTART_BUNDLE_DIR that was not checked on this host (or changed since)"
    else
      found="no offline bundle at $USTART_BUNDLE_DIR"
    fi
    die "site is air-gapped (site.airGapped: true) and $USTART_HOST has $found, so apt has nothing to install from." \
      "Run the install with the verified bundle (ustart run --bundle BUNDLE --bundle-key PUB, or Install → Offline bundle):" \
      "its step umetal.bundle delivers it and checks every file on each host; then run this step again."
  fi
  say "no checked bundle at $USTART_BUNDLE_DIR: keeping this host's own package sources"
  exit 0
fi
say "using the bundle at $USTART_BUNDLE_DIR as the only package source"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ -e $f && $f != "$list" ]] || continue
  backup_once "$f"
  rm -f "$f"
  say "set aside $f (kept for the reset)"
done
printf 'deb [trusted=yes] file:%s/apt ./\n' "$USTART_BUNDLE_DIR" >"$list"
apt_update
# Which bundle apt has read: a newer bundle's index is read again on the next run.
install -d -m 0755 "$USTART_ROOT/state"
sha256sum "$USTART_BUNDLE_DIR/apt/Release" >"$USTART_ROOT/state/apt-release.sha256"
say "apt now installs from the bundle only"
