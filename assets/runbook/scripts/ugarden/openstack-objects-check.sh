#!/usr/bin/env bash
# Done when the input is current and uStack has the workload cluster's flavors, node image,
# keypair (matching the private key held here), external network, own network with its router,
# the API's port and its floating IP (the one recorded here).
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
garden_objects_read
if [[ ${go[problem]} != - ]]; then
  say "the plan cannot hold the workload cluster: ${go[problem]}"
  exit 1
fi
command -v openstack >/dev/null
command -v ssh-keygen >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openstack_admin_cloud "$work"
absent=$(garden_objects_missing)
[[ -z $absent ]]
