#!/usr/bin/env bash
# Creates in uStack what the first workload cluster's machines reference (the names and sizes
# come from the plan through openstack-objects.tsv): a control-plane and a worker flavor, the
# Kubernetes node image from the bundle, and a keypair whose private key is generated on this
# host, kept private and handed over as the step's output, never printed. Checks that the
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
[[ -n $absent ]] || say "uStack has the workload cluster's flavors, node image and keypair already"
absent=$(garden_objects_missing)
[[ -z $absent ]] || die "still missing in uStack after creating it: $(paste -sd' ' <<<"$absent")"
say "flavors ${go[cp-flavor]} and ${go[worker-flavor]}, image ${go[image]}, keypair ${go[keypair]} and external network ${go[external-network]} ready; the SSH private key is in $(garden_ssh_key) (mode 0600); uStart hands it over"
