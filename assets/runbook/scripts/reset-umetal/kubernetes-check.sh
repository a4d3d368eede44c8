#!/usr/bin/env bash
# Done when nothing of Kubernetes is left on this host.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

for dir in /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/cni/net.d /var/lib/cni; do
  [[ ! -e $dir ]]
done
if awk '{ print $2 }' /proc/mounts | grep -q '^/var/lib/kubelet'; then exit 1; fi
for table in iptables ip6tables; do
  command -v "$table-save" >/dev/null || continue
  if "$table-save" | grep -qE 'KUBE-|CILIUM'; then exit 1; fi
done
