#!/usr/bin/env bash
# Takes the site's root CA out of this controller's trust store again.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

ca=$(site_ca_path)
if [[ -e $ca ]]; then
  say "removing $ca from the trust store"
  rm -f "$ca"
fi
# Also after an earlier run removed the file but the update failed: its link is still there.
if [[ -e /etc/ssl/certs/$(basename "$ca" .crt).pem ]]; then update-ca-certificates --fresh >/dev/null; fi
say "the site's root CA is no longer trusted on $USTART_HOST"
