#!/usr/bin/env bash
# Removes the Kubernetes tools, containerd and runc, with their state.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

systemctl stop kubelet containerd >/dev/null 2>&1 || true
if command -v apt-mark >/dev/null; then apt-mark unhold kubeadm kubelet kubectl >/dev/null 2>&1 || true; fi
apt_purge kubeadm kubelet kubectl containerd runc python3-openstackclient
for tool in kubeadm kubelet kubectl helm clusterctl; do
  if [[ -e /usr/local/bin/$tool ]]; then
    say "removing /usr/local/bin/$tool"
    rm -f "/usr/local/bin/$tool"
  fi
done
for path in /etc/systemd/system/kubelet.service /etc/systemd/system/kubelet.service.d /etc/containerd /var/lib/containerd /run/containerd /etc/crictl.yaml "$USTART_ROOT/state/images.sha256"; do
  if [[ -e $path ]]; then
    say "removing $path"
    rm -rf "$path"
  fi
done
systemctl daemon-reload >/dev/null 2>&1 || true
say "the Kubernetes tools and containerd are removed"
