#!/usr/bin/env bash
# Done when no Kubernetes tool, containerd or its state is left.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

for p in kubeadm kubelet kubectl containerd runc python3-openstackclient; do if pkg_installed "$p"; then exit 1; fi; done
for tool in kubeadm kubelet kubectl helm clusterctl; do [[ ! -e /usr/local/bin/$tool ]]; done
[[ ! -e /etc/containerd && ! -e /var/lib/containerd ]]
