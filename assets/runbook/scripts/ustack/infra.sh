#!/usr/bin/env bash
# Creates the root CA, the Ceph pools and clients for OpenStack and the public VIP Service.
# Rook writes each client's key into rook-ceph-client-<name> under the key <name>, the layout
# Yaook reads (docs/upstream-facts.md#yaook.ceph-client-secret, #rook.client-secret).
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
kubectl create namespace yaook --dry-run=client -o yaml | kubectl apply -f - >/dev/null
if ! kubectl -n yaook get secret root-ca >/dev/null 2>&1; then
  say "creating the site's root CA (the key stays in the Secret yaook/root-ca)"
  ca_dir=$(mktemp -d)
  trap 'rm -rf "$ca_dir"' EXIT
  (umask 077 && openssl req -x509 -newkey rsa:4096 -nodes -days 3650 -subj "/CN=$USTART_SITE root CA" \
    -keyout "$ca_dir/tls.key" -out "$ca_dir/tls.crt" 2>/dev/null)
  kubectl -n yaook create secret tls root-ca --cert="$ca_dir/tls.crt" --key="$ca_dir/tls.key" >/dev/null
fi
say "applying the issuer, Ceph pools and clients, and the public VIP Service"
kubectl apply -f /etc/ustart/ustack/infra.yaml
for client in glance cinder nova; do
  wait_for "the Ceph keyring for $client" 600 kubectl -n rook-ceph get secret "rook-ceph-client-$client"
  copy_secret rook-ceph "rook-ceph-client-$client" yaook
done
public_ip() { [[ $(kubectl -n ingress-nginx get svc openstack-public -o jsonpath='{.status.loadBalancer.ingress[0].ip}') == "$USTART_PUBLIC_VIP" ]]; }
wait_for "the public VIP $USTART_PUBLIC_VIP on the ingress" 300 public_ip
