#!/usr/bin/env bash
# Points apt at the bundle's repository when the bundle is on this host.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

list=/etc/apt/sources.list.d/ustart-bundle.list
if [[ ! -d $USTART_BUNDLE_DIR/apt ]]; then
  say "no bundle at $USTART_BUNDLE_DIR: keeping this host's own package sources"
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
apt-get update -q -o DPkg::Lock::Timeout=900
# Which bundle apt has read: a newer bundle's index is read again on the next run.
install -d -m 0755 "$USTART_ROOT/state"
sha256sum "$USTART_BUNDLE_DIR/apt/Release" >"$USTART_ROOT/state/apt-release.sha256"
say "apt now installs from the bundle only"
