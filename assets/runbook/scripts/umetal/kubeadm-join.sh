#!/usr/bin/env bash
# Joins this host to the cluster with the join material from kubeadm init, passed in a
# private file: the token is never on a command line.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
if [[ -f /etc/kubernetes/kubelet.conf ]]; then
  say "$USTART_HOST is already a node of the cluster"
  exit 0
fi
join_env=$(input_file join)
# shellcheck disable=SC1090
. "$join_env"
[[ $KUBEADM_TOKEN =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || die "the join token in $join_env is malformed"
[[ $KUBEADM_CA_CERT_HASH =~ ^sha256:[a-f0-9]{64}$ ]] || die "the CA hash in $join_env is malformed"
[[ $KUBEADM_CERTIFICATE_KEY =~ ^[a-f0-9]{64}$ ]] || die "the certificate key in $join_env is malformed"
config=/etc/ustart/kubeadm/join.final.yaml
(
  umask 077
  template=$(<"/etc/ustart/kubeadm/join.yaml")
  template=${template//@@KUBEADM_TOKEN@@/$KUBEADM_TOKEN}
  template=${template//@@KUBEADM_CA_CERT_HASH@@/$KUBEADM_CA_CERT_HASH}
  template=${template//@@KUBEADM_CERTIFICATE_KEY@@/$KUBEADM_CERTIFICATE_KEY}
  printf '%s\n' "$template" >"$config"
)
say "joining $USTART_HOST to the cluster at $USTART_CONTROL_PLANE_ENDPOINT as $([[ $USTART_IS_CONTROLLER == true ]] && echo a controller || echo a worker)"
log=$(output_file kubeadm-join.log)
if ! (umask 077 && kubeadm join --config "$config" >"$log" 2>&1); then
  grep -vE 'token|certificate-key' "$log" | tail -n 40 >&2
  rm -f "$config"
  die "kubeadm join failed; the full output is in $log on $USTART_HOST"
fi
rm -f "$config"
say "$USTART_HOST joined the cluster"
