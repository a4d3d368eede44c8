#!/usr/bin/env bash
# Done when the site's root CA is not in the trust store.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

[[ ! -e $(site_ca_path) ]]
