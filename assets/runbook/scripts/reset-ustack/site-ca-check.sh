#!/usr/bin/env bash
# Done when the site's root CA is not in the trust store.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

ca=$(site_ca_path)
[[ ! -e $ca ]]
# update-ca-certificates links each trusted certificate as /etc/ssl/certs/<name>.pem.
[[ ! -e /etc/ssl/certs/$(basename "$ca" .crt).pem ]]
