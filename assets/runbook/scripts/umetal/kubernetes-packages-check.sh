#!/usr/bin/env bash
# Done when every tool is there in the planned version.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

tools=(kubeadm kubelet kubectl)
[[ $USTART_IS_CONTROLLER == true ]] && tools+=(helm clusterctl)
for tool in "${tools[@]}"; do command -v "$tool" >/dev/null; done
[[ $(kubeadm version -o short 2>/dev/null) == "v$USTART_K8S_VERSION" ]]
kubelet_unit_runs_kubelet
