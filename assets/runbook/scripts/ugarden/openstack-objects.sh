#!/usr/bin/env bash
# Creates in uStack what the first workload cluster's machines reference (the names and sizes
# come from the plan through openstack-objects.tsv): a control-plane and a worker flavor, the
# Kubernetes node image from the bundle, a keypair whose private key is generated on this
# host, kept private and handed over as the step's output, never printed, and the cluster's
# network with a router, the port of the API's virtual IP and its floating IP. Checks that the
# provider network exists as the external network. Creates only what is missing; never changes
# or deletes what exists. Credentials come from Keystone's admin Secret through a private
# clouds.yaml (openstack_admin_cloud), never through the command line.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
garden_objects_read
[[ ${go[problem]} == - ]] || die "the workload cluster cannot be created: ${go[problem]}"
command -v openstack >/dev/null || apt_install python3-openstackclient
command -v ssh-keygen >/dev/null || apt_install openssh-client
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openstack_admin_cloud "$work"

absent=$(garden_objects_missing)
for role in cp worker; do
  if grep -qxF "flavor ${go[$role-flavor]}" <<<"$absent"; then
    say "creating the flavor ${go[$role-flavor]} (${go[$role-vcpus]} vCPUs, ${go[$role-ram]} MiB, ${go[$role-disk]} GB disk)"
    openstack flavor create "${go[$role-flavor]}" --vcpus "${go[$role-vcpus]}" \
      --ram "${go[$role-ram]}" --disk "${go[$role-disk]}" >/dev/null
  fi
done
if grep -qx image <<<"$absent"; then
  # Resolved on its own line: inside $(…) a missing file would not stop the script, and the
  # client would read the image from stdin instead.
  image_file=$(bundle_file "${go[image-file]}")
  say "uploading the node image ${go[image]} from the bundle to Glance"
  openstack image create "${go[image]}" --disk-format qcow2 --container-format bare \
    --file "$image_file" >/dev/null
fi
if grep -qx keypair <<<"$absent"; then
  key=$(garden_ssh_key)
  if [[ ! -s $key ]]; then
    say "generating the workload machines' SSH key on this host (private, mode 0600)"
    rm -f "$key" "$key.pub"
    (umask 077 && ssh-keygen -q -t ed25519 -N '' -C "ustart-garden@$USTART_SITE" -f "$key")
  fi
  ssh-keygen -y -f "$key" >"$work/garden.pub"
  say "registering the keypair ${go[keypair]} in Nova (its public key only)"
  openstack keypair create "${go[keypair]}" --public-key "$work/garden.pub" >/dev/null
fi
# The cluster's network with the API's virtual IP behind a floating IP
# (docs/ugarden-workload-cluster.md, "The API endpoint").
if grep -qx network <<<"$absent"; then
  say "creating the workload cluster's network ${go[network]}"
  openstack network create "${go[network]}" >/dev/null
fi
if grep -qx subnet <<<"$absent"; then
  dns=()
  if [[ ${go[dns]} != - ]]; then
    IFS=, read -ra servers <<<"${go[dns]}"
    for server in "${servers[@]}"; do dns+=(--dns-nameserver "$server"); done
  fi
  say "creating the subnet ${go[subnet]} (${go[subnet-range]}, machines from ${go[pool-start]}, the API's virtual IP ${go[api-vip]} kept out)"
  openstack subnet create "${go[subnet]}" --network "${go[network]}" --subnet-range "${go[subnet-range]}" \
    --gateway "${go[gateway]}" --allocation-pool "start=${go[pool-start]},end=${go[pool-end]}" "${dns[@]}" >/dev/null
fi
if grep -qx router <<<"$absent"; then
  say "creating the router ${go[router]} with its gateway on ${go[external-network]}"
  openstack router create "${go[router]}" --external-gateway "${go[external-network]}" >/dev/null
fi
if grep -qx router-interface <<<"$absent"; then
  say "attaching ${go[subnet]} to the router ${go[router]}"
  openstack router add subnet "${go[router]}" "${go[subnet]}"
fi
if grep -qx api-port <<<"$absent"; then
  say "reserving the API's virtual IP ${go[api-vip]} with the port ${go[api-port]}"
  openstack port create "${go[api-port]}" --network "${go[network]}" \
    --fixed-ip "subnet=${go[subnet]},ip-address=${go[api-vip]}" >/dev/null
fi
if grep -qx api-address <<<"$absent"; then
  address=$(openstack floating ip list --port "${go[api-port]}" -f value -c 'Floating IP Address')
  if [[ -z $address ]]; then
    say "giving the port ${go[api-port]} a floating IP on ${go[external-network]}"
    address=$(openstack floating ip create "${go[external-network]}" --port "${go[api-port]}" \
      --description "uStart: the API of the workload cluster $USTART_GARDEN_CLUSTER" -f value -c floating_ip_address)
  fi
  file=$(garden_api_address_file)
  install -d -m 0755 "$(dirname "$file")"
  printf '%s\n' "$address" >"$file"
fi
[[ -n $absent ]] || say "uStack has the workload cluster's flavors, node image, keypair and network already"
absent=$(garden_objects_missing)
[[ -z $absent ]] || die "still missing in uStack after creating it: $(paste -sd' ' <<<"$absent")"
say "flavors ${go[cp-flavor]} and ${go[worker-flavor]}, image ${go[image]}, keypair ${go[keypair]}, network ${go[network]} and external network ${go[external-network]} ready; the workload API will answer on $(<"$(garden_api_address_file)"):6443; the SSH private key is in $(garden_ssh_key) (mode 0600); uStart hands it over"
