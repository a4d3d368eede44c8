#!/usr/bin/env bash
# Creates a network, an image, a flavor and a server, waits until the server is ACTIVE,
# then removes them again. Credentials come from Keystone's admin Secret through a private
# clouds.yaml (openstack_admin_cloud), never through the command line.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
# The OpenStack client comes from the bundle's package source, like every other package.
command -v openstack >/dev/null || apt_install python3-openstackclient
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openstack_admin_cloud "$work"
os() { openstack "$@"; }
cleanup() {
  os server delete --wait ustart-smoke 2>/dev/null || true
  os subnet delete ustart-smoke 2>/dev/null || true
  os network delete ustart-smoke 2>/dev/null || true
  os flavor delete ustart.smoke 2>/dev/null || true
  os image delete ustart-smoke-cirros 2>/dev/null || true
}
say "removing what an earlier smoke test may have left"
cleanup
say "creating network, image, flavor and server"
os network create ustart-smoke >/dev/null
os subnet create ustart-smoke --network ustart-smoke --subnet-range 192.168.250.0/24 >/dev/null
os flavor create ustart.smoke --vcpus 1 --ram 512 --disk 1 >/dev/null
image_file=$(bundle_file 'files/images/cirros*.qcow2')
os image create ustart-smoke-cirros --disk-format qcow2 --container-format bare --file "$image_file" >/dev/null
os server create ustart-smoke --flavor ustart.smoke --image ustart-smoke-cirros --network ustart-smoke --wait >/dev/null
status=$(os server show ustart-smoke -f value -c status)
[[ $status == ACTIVE ]] || die "the smoke-test server is $status, not ACTIVE; see: openstack server show ustart-smoke"
say "the smoke-test server is ACTIVE; cleaning up"
cleanup
install -d -m 0700 "$USTART_ROOT/state"
ustack_digest >"$USTART_ROOT/state/smoke-test.passed"
say "smoke test passed"
