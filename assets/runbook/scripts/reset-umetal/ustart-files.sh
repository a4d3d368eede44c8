#!/usr/bin/env bash
# Removes uStart's own files from the host, keeping only the bundle.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

say "removing /etc/ustart and uStart's state in $USTART_ROOT (the bundle stays)"
rm -rf /etc/ustart
find "$USTART_ROOT" -mindepth 1 -maxdepth 1 ! -name bundle -exec rm -rf {} +
say "no uStart files are left on $USTART_HOST except the bundle"
