#!/usr/bin/env bash
# Done when the trust store holds the site's root CA as it is now.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
site_ca_pem "$work/ca.crt"
cmp -s "$work/ca.crt" "$(site_ca_path)"
# The bundle update-ca-certificates writes holds the certificate's base64 lines as they are.
grep -qF "$(sed -n 2p "$work/ca.crt")" /etc/ssl/certs/ca-certificates.crt
