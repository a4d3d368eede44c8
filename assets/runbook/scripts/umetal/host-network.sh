#!/usr/bin/env bash
# Builds the plan's storage, provider and tenant interfaces (VLANs, bonds, MTU, addresses)
# live with ip, then persists them for the next boot: netplan on Ubuntu, ifupdown on Debian.
# The management path is only checked, before anything changes: it carries this SSH session.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

# The management path first, from the staged table, before anything (even the installed
# table the reset reads) changes: a problem there is fixed by hand, never by this step.
problems=$(HOST_NETWORK_LINKS=$(staged "$HOST_NETWORK_LINKS") host_network_problems check)
[[ -z $problems ]] || die "the management interfaces are not as the plan needs them, and uStart never changes them (they carry SSH):
$problems
Set their MTU where the OS configures them (installer, netplan or /etc/network/interfaces) or correct the NIC's mtu in the plan."
install_step_files

if [[ -z $(host_network_rows make) ]]; then
  say "no interfaces to build on $USTART_HOST: the plan gives it only the management network"
  exit 0
fi

needs() { host_network_rows make | awk -F'\t' -v k="$1" '$2 == k { found = 1 } END { exit !found }'; }
# kernel_support MODULE [PARAMETER=VALUE...]: the kernel has the module, or it is loaded now.
kernel_support() {
  local module=$1
  shift
  kernel_has_module "$module" && return 0
  if command -v modprobe >/dev/null && modprobe "$module" "$@" 2>/dev/null; then
    say "loaded kernel module $module"
    return 0
  fi
  # Built without module support (this machine's lab kernel): creating one tells.
  return 1
}
if needs vlan && ! kernel_support 8021q; then
  ip link add ustart-probe type veth peer name ustart-probe1 2>/dev/null || true
  if ! ip link add link ustart-probe name ustart-probe.2 type vlan id 2 2>/dev/null; then
    ip link del ustart-probe 2>/dev/null || true
    die "the kernel of $USTART_HOST has no 802.1Q VLAN support (module 8021q); install the distribution kernel or load 8021q"
  fi
  ip link del ustart-probe 2>/dev/null || true
fi
# Loaded with its defaults, bonding makes an empty bond0 in balance-rr (max_bonds=1), which
# the plan's bond0 would then be taken for; systemd's modprobe.d sets max_bonds=0 for the same
# reason (docs/upstream-facts.md#linux-bonding-max-bonds).
if needs bond && ! kernel_support bonding max_bonds=0; then
  [[ -d /sys/class/net/bonding_masters || -f /sys/class/net/bonding_masters ]] ||
    die "the kernel of $USTART_HOST has no bonding support (module bonding); install the distribution kernel or load bonding"
fi

case $USTART_OS_RELEASE in
  debian-*)
    # ifupdown reads the file at boot; ifenslave's hooks build bonds from bond-* options.
    if needs bond; then apt_install ifupdown ifenslave; else apt_install ifupdown; fi
    if ! grep -qE '^[[:space:]]*source(-directory)?[[:space:]]+/etc/network/interfaces\.d' /etc/network/interfaces 2>/dev/null; then
      backup_once /etc/network/interfaces
      say "making /etc/network/interfaces read /etc/network/interfaces.d"
      printf '\nsource /etc/network/interfaces.d/*\n' >>/etc/network/interfaces
    fi
    ;;
esac

# What this step made or set, one line each (kind name link address), for the reset: it
# undoes exactly that, whatever plan is rendered later.
made() {
  local record="$USTART_ROOT/backup/host-network/made.tsv" line
  line=$(printf '%s\t%s\t%s\t%s' "$@")
  install -d -m 0700 "$(dirname "$record")"
  grep -qxF -- "$line" "$record" 2>/dev/null || printf '%s\n' "$line" >>"$record"
}
# Keeps a link's MTU as it was before the first change, for the reset.
keep_mtu() {
  local file="$USTART_ROOT/backup/host-network/$1.mtu"
  [[ -e $file ]] && return 0
  install -d -m 0700 "$(dirname "$file")"
  link_mtu "$1" >"$file"
}
set_mtu() {
  [[ $(link_mtu "$1") == "$2" ]] && return 0
  keep_mtu "$1"
  say "$1: MTU $2"
  ip link set dev "$1" mtu "$2"
}
set_address() {
  local name=$1 address=$2 other
  [[ $address == - ]] && return 0
  # The plan owns this link: an IPv4 address it does not plan goes (an earlier plan's).
  for other in $(ip -o -4 addr show dev "$name" | awk '{ print $4 }'); do
    [[ $other == "$address" ]] && continue
    say "$name: removing $other, not in the plan"
    ip addr del "$other" dev "$name"
  done
  link_has_ipv4 "$name" "$address" && return 0
  say "$name: address $address"
  made address "$name" - "$address"
  ip addr add "$address" dev "$name"
}

# NICs, then bonds, then VLANs: the table is in that order, parents before children.
while IFS=$'\t' read -r _ kind name link vlan mtu address mode hash; do
  case $kind in
    nic)
      [[ -d /sys/class/net/$name ]] || die "NIC $name of the plan does not exist on $USTART_HOST; check the NIC names in the plan against 'ip link'"
      # A bond member is set up with its bond.
      [[ $link != - ]] && continue
      set_mtu "$name" "$mtu"
      ip link set dev "$name" up
      set_address "$name" "$address"
      ;;
    bond)
      args=(mode "$mode" miimon 100)
      [[ $hash == - ]] || args+=(xmit_hash_policy "$hash")
      if [[ ! -d /sys/class/net/$name ]]; then
        say "creating bond $name ($mode) of ${link//,/ }"
        made bond "$name" "$link" -
        ip link add "$name" type bond "${args[@]}"
      fi
      [[ -d /sys/class/net/$name/bonding ]] ||
        die "$name exists on $USTART_HOST but is not a bond; remove it (ip link del $name) or rename the bond in the plan, then run the step again"
      have=$(cut -d' ' -f1 "/sys/class/net/$name/bonding/mode")
      if [[ $have != "$mode" ]]; then
        # A bond without members in another mode: the one bonding makes when something loaded
        # it with its defaults (balance-rr). Its mode can change only while it is down; it is
        # recorded, so the reset removes it. A bond with members is someone else's.
        members=$(cat "/sys/class/net/$name/bonding/slaves")
        [[ -z $members ]] ||
          die "bond $name exists on $USTART_HOST in mode $have with members $members, and the plan wants $mode of ${link//,/ }; remove it (ip link del $name) or correct the plan, then run the step again"
        say "bond $name: mode $mode (it was $have, with no members)"
        made bond "$name" "$link" -
        ip link set dev "$name" down
        ip link set dev "$name" type bond "${args[@]}"
      fi
      for m in ${link//,/ }; do
        [[ -d /sys/class/net/$m ]] || die "bond member $m of $name does not exist on $USTART_HOST"
        if [[ $(basename "$(readlink "/sys/class/net/$m/master" 2>/dev/null || true)") != "$name" ]]; then
          keep_mtu "$m"
          say "adding $m to bond $name"
          ip link set dev "$m" down
          ip link set dev "$m" master "$name"
        fi
      done
      set_mtu "$name" "$mtu"
      ip link set dev "$name" up
      set_address "$name" "$address"
      ;;
    vlan)
      [[ -d /sys/class/net/$link ]] || die "the parent $link of VLAN $name does not exist on $USTART_HOST"
      if [[ -d /sys/class/net/$name ]] &&
        ! ip -d -o link show dev "$name" | grep -q "@$link:.* vlan protocol 802.1Q id $vlan "; then
        die "$name exists but is not VLAN $vlan on $link; remove it (ip link del $name) and run the step again"
      fi
      if [[ ! -d /sys/class/net/$name ]]; then
        say "creating VLAN $vlan on $link as $name"
        made vlan "$name" "$link" -
        ip link add link "$link" name "$name" type vlan id "$vlan"
      fi
      set_mtu "$name" "$mtu"
      ip link set dev "$name" up
      set_address "$name" "$address"
      ;;
  esac
done < <(host_network_rows make)

dest=$(host_network_config_path)
if [[ -f $dest ]] && cmp -s "$HOST_NETWORK_STAGED" "$dest"; then
  say "$dest is already up to date"
else
  mode=0644
  [[ $dest == /etc/netplan/* ]] && mode=0600
  install -D -m "$mode" -o root -g root "$HOST_NETWORK_STAGED" "$dest"
  say "installed $dest (mode $mode): the interfaces come back at boot"
fi
if [[ $dest == /etc/netplan/* ]]; then
  if command -v netplan >/dev/null; then
    # Checks the merged configuration (all files) without applying it: `netplan apply` could
    # bounce the management interface.
    netplan generate || die "netplan rejects the configuration with $dest; see the message above"
  else
    warn "netplan is not installed on $USTART_HOST: $dest takes effect only where netplan runs at boot"
  fi
fi

problems=$(host_network_problems all)
[[ -z $problems ]] || die "the interfaces are not as planned after the change:
$problems"
say "host networks as planned: $(host_network_rows make | cut -f3 | paste -sd' ')"
