#!/usr/bin/env bash
# Adds the site's root CA (it signs every uStack endpoint's certificate) to this controller's
# trust store, so the openstack client, curl and Python on it trust uStack's APIs without a
# --cacert. Debian and Ubuntu trust every PEM *.crt below /usr/local/share/ca-certificates
# once update-ca-certificates ran (docs/upstream-facts.md#debian.ca-certificates).
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
site_ca_pem "$work/ca.crt"
dest=$(site_ca_path)
if ! cmp -s "$work/ca.crt" "$dest"; then
  say "installing the site's root CA as $dest"
  install -D -m 0644 "$work/ca.crt" "$dest"
fi
update-ca-certificates >/dev/null
say "the site's root CA is trusted on $USTART_HOST"
