#!/usr/bin/env bash
# Puts each role's labels and taints on its node, from the rendered table.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
while IFS=$'\t' read -r node labels taints; do
  [[ -n $node ]] || continue
  IFS=, read -r -a pairs <<<"$labels"
  say "labelling $node: ${pairs[*]}"
  kubectl label node "$node" --overwrite "${pairs[@]}" >/dev/null
  if [[ $taints != - ]]; then
    IFS=, read -r -a list <<<"$taints"
    say "tainting $node: ${list[*]}"
    kubectl taint node "$node" --overwrite "${list[@]}" >/dev/null
  fi
done <"/etc/ustart/node-labels.tsv"
say "every node carries its role's labels"
