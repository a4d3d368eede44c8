#!/usr/bin/env bash
# Done when the input is current and Neutron has the provider network as planned (or the plan
# asks for none).
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
provider_network_read
[[ ${pn[enabled]} == yes ]] || exit 0
command -v openstack >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openstack_admin_cloud "$work"
absent=$(provider_network_missing)
[[ -z $absent ]]
