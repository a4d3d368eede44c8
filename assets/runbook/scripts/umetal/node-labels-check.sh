#!/usr/bin/env bash
# Done when every node already has its labels and taints.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
while IFS=$'\t' read -r node labels taints; do
  [[ -n $node ]] || continue
  have=$(kubectl get node "$node" --show-labels --no-headers | awk '{ print $NF }')
  IFS=, read -r -a pairs <<<"$labels"
  for pair in "${pairs[@]}"; do [[ ,$have, == *",$pair,"* ]] || exit 1; done
  if [[ $taints != - ]]; then
    taint_keys=$(kubectl get node "$node" -o jsonpath='{.spec.taints[*].key}')
    IFS=, read -r -a list <<<"$taints"
    for taint in "${list[@]}"; do [[ " $taint_keys " == *" ${taint%%=*} "* ]] || exit 1; done
  fi
done <"/etc/ustart/node-labels.tsv"
