#!/usr/bin/env bash
# Undoes umetal.host-network from its record of what it made: removes the VLANs and bonds,
# the addresses it set, puts back the MTUs it changed, removes the persisted file and
# restores /etc/network/interfaces. The management path was never changed: not touched.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

record="$USTART_ROOT/backup/host-network/made.tsv"
if [[ -f $record ]]; then
  # Newest first: addresses, then VLANs, then bonds (releasing their members).
  while IFS=$'\t' read -r kind name link address; do
    [[ -d /sys/class/net/$name ]] || continue
    case $kind in
      address)
        if link_has_ipv4 "$name" "$address"; then
          say "$name: removing address $address"
          ip addr del "$address" dev "$name"
        fi
        ;;
      vlan) say "removing $name" && ip link del "$name" ;;
      bond)
        for m in ${link//,/ }; do
          if [[ -d /sys/class/net/$m ]]; then ip link set dev "$m" nomaster 2>/dev/null || true; fi
        done
        say "removing $name"
        ip link del "$name"
        ;;
    esac
  done < <(tac "$record")
  rm -f "$record"
fi

# MTUs as they were before the install (NICs, bond members).
for file in "$USTART_ROOT"/backup/host-network/*.mtu; do
  [[ -f $file ]] || continue
  name=$(basename "$file" .mtu)
  if [[ -d /sys/class/net/$name && $(link_mtu "$name") != $(cat "$file") ]]; then
    say "$name: MTU back to $(cat "$file")"
    ip link set dev "$name" mtu "$(cat "$file")"
  fi
  rm -f "$file"
done
rmdir "$USTART_ROOT/backup/host-network" 2>/dev/null || true

for f in /etc/netplan/60-ustart.yaml /etc/network/interfaces.d/ustart; do
  if [[ -e $f ]]; then
    rm -f "$f"
    say "removed $f"
  fi
done
restore_backup /etc/network/interfaces
