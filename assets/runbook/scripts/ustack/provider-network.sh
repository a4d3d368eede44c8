#!/usr/bin/env bash
# Creates the plan's provider network in Neutron (docs/ustack-provider-network.md): an
# external flat network on the physnet OVN bridges on the compute servers, its subnet (the
# plan's CIDR and gateway, the floating range as the only allocation pool, no DHCP) and, when
# the plan asks, a router with its gateway there. Creates only what is missing; never changes
# or deletes what exists. Credentials come from Keystone's admin Secret through a private
# clouds.yaml (openstack_admin_cloud), never through the command line.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
provider_network_read
if [[ ${pn[enabled]} != yes ]]; then
  say "the plan sets no openstack.externalNetwork: no provider network to create in Neutron"
  exit 0
fi
command -v openstack >/dev/null || apt_install python3-openstackclient
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openstack_admin_cloud "$work"

absent=$(provider_network_missing)
if grep -qx network <<<"$absent"; then
  say "creating the external network ${pn[network]} (flat, physnet ${pn[physnet]})"
  openstack network create "${pn[network]}" --external \
    --provider-network-type flat --provider-physical-network "${pn[physnet]}" >/dev/null
fi
if grep -qx subnet <<<"$absent"; then
  say "creating the subnet ${pn[subnet]} (${pn[cidr]}, gateway ${pn[gateway]}, floating range ${pn[pool-start]}–${pn[pool-end]}, no DHCP)"
  openstack subnet create "${pn[subnet]}" --network "${pn[network]}" \
    --subnet-range "${pn[cidr]}" --gateway "${pn[gateway]}" \
    --allocation-pool "start=${pn[pool-start]},end=${pn[pool-end]}" --no-dhcp >/dev/null
fi
if grep -qx router <<<"$absent"; then
  say "creating the router ${pn[router]}"
  openstack router create "${pn[router]}" >/dev/null
fi
if grep -qx -e router -e router-gateway <<<"$absent"; then
  say "setting the gateway of ${pn[router]} on ${pn[network]}"
  openstack router set "${pn[router]}" --external-gateway "${pn[network]}" >/dev/null
fi
[[ -n $absent ]] || say "the provider network is in Neutron as planned already"
absent=$(provider_network_missing)
[[ -z $absent ]] || die "still missing in Neutron after creating it: $(tr '\n' ' ' <<<"$absent")"
say "provider network ${pn[network]} ready"
