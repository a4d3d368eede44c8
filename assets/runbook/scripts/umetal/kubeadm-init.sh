#!/usr/bin/env bash
# Creates the cluster on the first controller with kubeadm init, then writes the join
# material (token, CA hash, certificate key) to a private file; it never reaches a log.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

# The join material: a fresh bootstrap token, the CA's public key hash and the key that
# encrypts the uploaded control-plane certificates. Written with umask 077, never printed.
write_join_material() {
  local join token hash key
  join=$(output_file join.env)
  token=$(kubeadm token create --ttl 4h)
  hash=$(openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt |
    openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
  key=$(kubeadm init phase upload-certs --upload-certs --config /etc/ustart/kubeadm/init.yaml | tail -n 1)
  # When the certificates were uploaded: kubeadm deletes them 2 hours later
  # (docs/upstream-facts.md#kubeadm.cert-key-ttl); the check makes new ones in time.
  (
    umask 077
    printf 'KUBEADM_TOKEN=%s\nKUBEADM_CA_CERT_HASH=sha256:%s\nKUBEADM_CERTIFICATE_KEY=%s\nKUBEADM_CERTS_UPLOADED_AT=%s\n' \
      "$token" "$hash" "$key" "$(date +%s)" >"$join.tmp"
  )
  mv "$join.tmp" "$join"
}

install_step_files
if cluster_up; then
  say "the cluster already answers on $USTART_CONTROL_PLANE_ENDPOINT"
else
  say "running kubeadm init for $USTART_CONTROL_PLANE_ENDPOINT (pods $USTART_POD_CIDR, services $USTART_SERVICE_CIDR)"
  # kubeadm prints the join token: its output goes to a private file, not to the log.
  log=$(output_file kubeadm-init.log)
  (umask 077 && kubeadm init --config /etc/ustart/kubeadm/init.yaml >"$log" 2>&1) || {
    grep -vE 'token|discovery-token|certificate-key' "$log" | tail -n 40 >&2
    die "kubeadm init failed; the full output is in $log on $USTART_HOST"
  }
  say "kubeadm init finished"
fi
wait_for "the API server" 300 cluster_up
write_join_material
say "join material written to $(output_file join.env) (mode 0600)"
