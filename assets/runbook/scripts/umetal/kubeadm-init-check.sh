#!/usr/bin/env bash
# Done when the cluster answers and the join material is still valid.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
cluster_up
join=$(output_file join.env)
[[ -s $join ]]
# shellcheck disable=SC1090
token=$(. "$join" && printf '%s' "$KUBEADM_TOKEN")
kubeadm token list -o jsonpath='{.token}{"\n"}' 2>/dev/null | grep -qxF -- "$token"
