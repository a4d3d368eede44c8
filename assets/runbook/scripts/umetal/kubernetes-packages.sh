#!/usr/bin/env bash
# Installs kubeadm, kubelet and kubectl (helm on controllers): pinned binaries from the
# bundle when it has them (installed 0755: a pushed bundle file need not be executable),
# else the packages of the configured sources.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

tools=(kubeadm kubelet kubectl)
[[ $USTART_IS_CONTROLLER == true ]] && tools+=(helm clusterctl)
apt_install conntrack socat ethtool iptables ebtables
for tool in "${tools[@]}"; do
  if [[ -f $USTART_BUNDLE_DIR/bin/$tool ]]; then
    if ! cmp -s "$USTART_BUNDLE_DIR/bin/$tool" "/usr/local/bin/$tool"; then
      say "installing $tool from the bundle"
      install -m 0755 "$USTART_BUNDLE_DIR/bin/$tool" "/usr/local/bin/$tool"
    fi
  elif ! command -v "$tool" >/dev/null; then
    case $tool in
      kubeadm | kubelet | kubectl) apt_install "$tool" ;;
      *) die "$tool is neither in the bundle nor installed; add it to the bundle (kind binary)" ;;
    esac
  fi
done
if [[ -f $USTART_BUNDLE_DIR/bin/kubelet ]]; then
  # The bundle carries kubernetes/release's unit and kubeadm drop-in as the packages ship
  # them, starting /usr/bin/kubelet (docs/upstream-facts.md#kubelet.unit-path); the pinned
  # binary is in /usr/local/bin, so the units are installed pointing there.
  for unit in kubelet.service:/etc/systemd/system/kubelet.service \
    10-kubeadm.conf:/etc/systemd/system/kubelet.service.d/10-kubeadm.conf; do
    install -d -m 0755 "$(dirname "${unit#*:}")"
    sed 's#/usr/bin/kubelet#/usr/local/bin/kubelet#g' "$USTART_BUNDLE_DIR/files/kubelet/${unit%%:*}" >"${unit#*:}.tmp"
    chmod 0644 "${unit#*:}.tmp"
    mv "${unit#*:}.tmp" "${unit#*:}"
  done
  systemctl daemon-reload
fi
kubelet_unit_runs_kubelet || die "the kubelet's systemd unit does not start an installed kubelet binary (ExecStart: $(kubelet_exec_starts | paste -sd' ')); check the bundle's files/kubelet"

systemctl enable kubelet >/dev/null 2>&1 || true
if command -v apt-mark >/dev/null; then apt-mark hold kubeadm kubelet kubectl >/dev/null 2>&1 || true; fi
installed=$(kubeadm version -o short 2>/dev/null || echo none)
[[ ${installed#v} == "$USTART_K8S_VERSION" ]] ||
  die "kubeadm is $installed but the plan asks for $USTART_K8S_VERSION; put the right version in the bundle"
say "Kubernetes tools $installed installed: ${tools[*]}"
