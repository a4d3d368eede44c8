#!/usr/bin/env bash
# Undoes the OS baseline from the copies kept before the install changed anything.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

restore_backup /etc/fstab
if [[ -e $USTART_ROOT/backup/etc/hostname ]]; then
  previous=$(<"$USTART_ROOT/backup/etc/hostname")
  restore_backup /etc/hostname
  hostname "$previous"
fi
if grep -qxF "$HOSTS_BEGIN" /etc/hosts; then
  say "removing the planned hosts from /etc/hosts"
  next=$(hosts_without_block)
  printf '%s\n' "$next" >/etc/hosts
fi
restore_backup /etc/chrony/chrony.conf
for f in /etc/modules-load.d/ustart.conf /etc/sysctl.d/90-ustart.conf /etc/apt/sources.list.d/ustart-bundle.list; do
  if [[ -e $f ]]; then
    say "removing $f"
    rm -f "$f"
  fi
done
if [[ -d $USTART_ROOT/backup/etc/apt ]]; then
  say "restoring the apt sources"
  cp -a "$USTART_ROOT/backup/etc/apt/." /etc/apt/
  rm -rf "$USTART_ROOT/backup/etc/apt"
fi
sysctl -q --system >/dev/null 2>&1 || true
say "the OS baseline is undone"
