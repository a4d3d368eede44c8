#!/usr/bin/env bash
# Removes Kubernetes from this host: kubeadm reset, then every folder, mount, link and
# iptables rule it leaves behind.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if command -v kubeadm >/dev/null; then
  say "running kubeadm reset on $USTART_HOST"
  kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock >/dev/null 2>&1 || warn "kubeadm reset reported an error; cleaning up by hand"
fi
systemctl stop kubelet >/dev/null 2>&1 || true
# Pods' volumes stay mounted under /var/lib/kubelet after a reset; unmount them, deepest first.
while read -r mount; do
  say "unmounting $mount"
  umount -l "$mount" || true
done < <(awk '$2 ~ "^/var/lib/kubelet" { print $2 }' /proc/mounts | sort -r)
for dir in /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/cni/net.d /var/lib/cni /run/cilium /var/run/kubernetes "$HOME/.kube"; do
  if [[ -e $dir ]]; then
    say "removing $dir"
    rm -rf "$dir"
  fi
done
for link in $(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep -E '^(cilium_|lxc|kube-ipvs)' || true); do
  say "removing network link $link"
  ip link delete "$link" 2>/dev/null || true
done
for table in iptables ip6tables; do
  command -v "$table-save" >/dev/null || continue
  if "$table-save" | grep -qE 'KUBE-|CILIUM'; then
    say "removing the Kubernetes and Cilium $table rules"
    "$table-save" | grep -vE 'KUBE-|CILIUM' | "$table-restore"
  fi
done
say "Kubernetes is gone from $USTART_HOST"
