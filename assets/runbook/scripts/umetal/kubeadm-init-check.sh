#!/usr/bin/env bash
# Done when the cluster answers and, while a planned host still has to join, the join
# material still works: its token is listed and its uploaded certificates are young enough
# to outlive the joins (kubeadm deletes them 2 hours after the upload,
# docs/upstream-facts.md#kubeadm.cert-key-ttl). When it fails the step runs again: the
# cluster is there, so it only makes new join material. Only reads.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

# The controllers join one at a time, each within its step's timeout (20 minutes, one retry);
# certificates older than this may expire before the last one joins.
CERTS_MAX_AGE_S=2400

step_files_current
cluster_up
all_joined() {
  local node
  for node in "${USTART_NODE_NAMES[@]}"; do
    kubectl get node "$node" >/dev/null 2>&1 || return 1
  done
}
all_joined && exit 0
join=$(output_file join.env)
[[ -s $join ]]
# shellcheck disable=SC1090
token=$(. "$join" && printf '%s' "$KUBEADM_TOKEN")
# shellcheck disable=SC1090
uploaded=$(. "$join" && printf '%s' "${KUBEADM_CERTS_UPLOADED_AT:-0}")
if (($(date +%s) - uploaded > CERTS_MAX_AGE_S)); then
  say "the uploaded control-plane certificates are older than $((CERTS_MAX_AGE_S / 60)) minutes: new join material is needed"
  exit 1
fi
kubeadm token list -o jsonpath='{.token}{"\n"}' 2>/dev/null | grep -qxF -- "$token"
