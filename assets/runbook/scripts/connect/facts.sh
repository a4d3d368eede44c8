#!/usr/bin/env bash
# Gathers this host's facts as one JSON document for the preflight comparison with the plan.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}
# A command's JSON output, or null when the command is missing or fails.
json_of() { "$@" 2>/dev/null || printf 'null'; }
os_field() { (. /etc/os-release && printf '%s' "${!1:-}"); }

say "gathering facts on $(hostname)"
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
virt=$(grep -owE 'vmx|svm' /proc/cpuinfo | sort -u | paste -sd, || true)
mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
ntp_synced=$(timedatectl show -p NTPSynchronized --value 2>/dev/null || printf 'unknown')
mapfile -t nameservers < <(awk '/^nameserver/ { print $2 }' /etc/resolv.conf 2>/dev/null)
mapfile -t ports < <(ss -Hltn 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -nu)
root_free=$(df -B1 --output=avail / | tail -1 | tr -d ' ')

# The first line of a file, or nothing when it is missing or unreadable.
first_line() {
  local line=''
  [[ -r $1 ]] && { IFS= read -r line <"$1" || true; }
  printf '%s' "$line"
}
# Free bytes and mount point of the file system holding a path ("" when unknown).
free_of() { df -B1 --output=avail "$1" 2>/dev/null | tail -1 | tr -d ' ' || true; }
mount_of() { df --output=target "$1" 2>/dev/null | tail -1 || true; }

# Whether the kernel has a module: loaded (it has an initstate), built in, loadable from
# /lib/modules, missing, or unknown when this host has no way to tell (no modinfo, no
# modules.dep). docs/upstream-facts.md#linux-module-sysfs
module_state() {
  local m=$1 dir
  dir=/lib/modules/$(uname -r)
  if [[ -e /sys/module/$m/initstate ]]; then
    printf loaded
  elif kernel_has_module "$m"; then
    printf builtin
  elif command -v modinfo >/dev/null && modinfo -n "$m" >/dev/null 2>&1; then
    printf loadable
  elif [[ -f $dir/modules.dep ]] && grep -q "/$m\.ko" "$dir/modules.dep"; then
    printf loadable
  elif [[ -d $dir ]] && ! command -v modinfo >/dev/null && [[ ! -f $dir/modules.dep ]]; then
    printf unknown
  else
    printf missing
  fi
}

# A planned Ceph OSD disk as Rook sees it: what is on it (partitions, LVM, signatures).
# Rook takes only disks without partitions or file systems. wipefs without -a only lists.
# docs/upstream-facts.md#rook-osd-raw-device
osd_disk_json() {
  local dev=$1 children='null' signatures='null' list
  if [[ ! -b $dev ]]; then
    printf '{"device": %s, "present": false}' "$(json_str "$dev")"
    return
  fi
  if command -v lsblk >/dev/null; then
    list=$(lsblk -nr -o NAME,TYPE "$dev" 2>/dev/null | awk 'NR > 1 { printf "%s{\"name\": \"%s\", \"type\": \"%s\"}", sep, $1, $2; sep = ", " }') &&
      children="[$list]"
  fi
  if command -v wipefs >/dev/null; then
    list=$(wipefs --noheadings --output TYPE "$dev" 2>/dev/null | sort -u | awk '{ printf "%s\"%s\"", sep, $1; sep = ", " }') &&
      signatures="[$list]"
  elif command -v blkid >/dev/null; then
    list=$(blkid -p -o export "$dev" 2>/dev/null | awk -F= '$1 == "TYPE" || $1 == "PTTYPE" { printf "%s\"%s\"", sep, $2; sep = ", " }') &&
      signatures="[$list]"
  fi
  printf '{"device": %s, "present": true, "children": %s, "signatures": %s}' \
    "$(json_str "$dev")" "$children" "$signatures"
}

# Whether a VIP is taken before the install: ping it once where it is on a local network,
# then read the neighbour table for the MAC that answered. A minimal host has no arping;
# an ARP answer without ICMP (a firewall) still leaves a REACHABLE neighbour entry.
# docs/upstream-facts.md#kolla-vip-not-pingable
vip_json() {
  local name=$1 addr=$2 route local=false on_link=false answers=false mac=''
  if ip -o -4 addr show 2>/dev/null | awk '{ split($4, a, "/"); print a[1] }' | grep -qxF -- "$addr"; then
    local=true
  elif route=$(ip route get "$addr" 2>/dev/null) && [[ $route != *" via "* && $route != local* ]]; then
    on_link=true
    if ping -n -q -c 1 -W 1 "$addr" >/dev/null 2>&1; then
      answers=true
      mac=$(ip neigh show to "$addr" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") { print $(i + 1); exit } }')
    else
      mac=$(ip neigh show to "$addr" nud reachable 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") { print $(i + 1); exit } }')
      [[ -n $mac ]] && answers=true
    fi
  fi
  printf '{"name": %s, "address": %s, "local": %s, "onLink": %s, "answers": %s, "mac": %s}' \
    "$(json_str "$name")" "$(json_str "$addr")" "$local" "$on_link" "$answers" \
    "$([[ -n $mac ]] && json_str "$mac" || printf null)"
}

# Each OpenStack endpoint name as this host resolves it, the way its programs do: getent
# asks nsswitch (/etc/hosts, then DNS) with AF_INET, printing one address per line and
# exiting 2 for a name that does not resolve. docs/upstream-facts.md#glibc-getent-ahostsv4
# Only for endpointDns site-dns: with hosts-file the names reach /etc/hosts later, in
# umetal.hostname. The lookups run side by side, each at most 10 s, so a resolver that does
# not answer costs seconds, not minutes.
endpoint_names_json() {
  [[ ${USTART_ENDPOINT_DNS:-} == site-dns ]] || return 0
  local dir name i rc sep='' addrs
  local -a names=(${USTART_ENDPOINT_NAMES[@]+"${USTART_ENDPOINT_NAMES[@]}"})
  if ! command -v getent >/dev/null; then
    for name in "${names[@]}"; do
      printf '%s{"name": %s, "addresses": null}' "$sep" "$(json_str "$name")"
      sep=', '
    done
    return 0
  fi
  dir=$(mktemp -d)
  for i in "${!names[@]}"; do
    {
      rc=0
      timeout 10 getent ahostsv4 "${names[i]}" >"$dir/$i.out" 2>/dev/null || rc=$?
      printf '%s' "$rc" >"$dir/$i.rc"
    } &
  done
  wait
  for i in "${!names[@]}"; do
    rc=$(<"$dir/$i.rc")
    case $rc in
      0) addrs=$(awk '!seen[$1]++ { printf "%s\"%s\"", sep, $1; sep = ", " }' "$dir/$i.out")
        addrs="[$addrs]" ;;
      2 | 124) addrs='[]' ;;
      *) addrs=null ;;
    esac
    printf '%s{"name": %s, "addresses": %s%s}' "$sep" "$(json_str "${names[i]}")" "$addrs" \
      "$([[ $rc == 124 ]] && printf ', "timedOut": true')"
    sep=', '
  done
  rm -rf "$dir"
}

machine_id=$(first_line /etc/machine-id)
# Root-readable only; the step runs as root. Absent on hosts without DMI (some VMs, ARM).
product_uuid=$(first_line /sys/class/dmi/id/product_uuid)
# docs/upstream-facts.md#k8s-cgroup-v2: cgroup2fs for v2, tmpfs for v1 (or hybrid).
cgroup_fs=$(stat -fc %T /sys/fs/cgroup/ 2>/dev/null || printf unknown)
swap_kib=$(awk '/^SwapTotal:/ { print $2 }' /proc/meminfo)
swap_fstab=$(grep -cE '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab 2>/dev/null || true)
var_free=$(free_of /var)
var_lib_free=$(free_of /var/lib)

out=$(output_file facts.json)
{
  printf '{\n'
  printf '  "hostname": %s,\n' "$(json_str "$(hostname)")"
  printf '  "os": {"id": %s, "versionId": %s, "prettyName": %s},\n' \
    "$(json_str "$(os_field ID)")" "$(json_str "$(os_field VERSION_ID)")" \
    "$(json_str "$(os_field PRETTY_NAME)")"
  printf '  "kernel": %s,\n' "$(json_str "$(uname -r)")"
  printf '  "cpu": {"model": %s, "count": %s, "virtualization": %s},\n' \
    "$(json_str "$cpu_model")" "$(nproc)" "$(json_str "$virt")"
  printf '  "memoryKiB": %s,\n' "${mem_kib:-0}"
  printf '  "disks": %s,\n' "$(json_of lsblk -J -b -d -o NAME,PATH,SIZE,TYPE,ROTA,MODEL,SERIAL)"
  printf '  "links": %s,\n' "$(json_of ip -j link show)"
  printf '  "addresses": %s,\n' "$(json_of ip -j addr show)"
  printf '  "time": {"epochMs": %s, "ntpSynchronized": %s},\n' \
    "$(date +%s%3N)" "$(json_str "$ntp_synced")"
  printf '  "dns": {"nameservers": ['
  sep=''
  for ns in "${nameservers[@]}"; do
    printf '%s%s' "$sep" "$(json_str "$ns")"
    sep=', '
  done
  printf ']},\n'
  printf '  "freeBytes": {"root": %s%s%s},\n' "${root_free:-0}" \
    "${var_free:+, \"var\": $var_free}" "${var_lib_free:+, \"varLib\": $var_lib_free}"
  printf '  "mounts": {"var": %s, "varLib": %s},\n' \
    "$(json_str "$(mount_of /var)")" "$(json_str "$(mount_of /var/lib)")"
  printf '  "machineId": %s,\n' "$(json_str "$machine_id")"
  printf '  "productUuid": %s,\n' "$(json_str "$product_uuid")"
  printf '  "cgroupFs": %s,\n' "$(json_str "$cgroup_fs")"
  printf '  "kernelModules": {'
  sep=''
  for m in overlay br_netfilter rbd; do
    printf '%s"%s": "%s"' "$sep" "$m" "$(module_state "$m")"
    sep=', '
  done
  printf '},\n'
  printf '  "swap": {"activeKiB": %s, "fstabEntries": %s},\n' "${swap_kib:-0}" "${swap_fstab:-0}"
  printf '  "osdDisks": ['
  sep=''
  for dev in ${USTART_CEPH_OSD_DEVICES[@]+"${USTART_CEPH_OSD_DEVICES[@]}"}; do
    printf '%s%s' "$sep" "$(osd_disk_json "$dev")"
    sep=', '
  done
  printf '],\n'
  printf '  "vips": ['
  sep=''
  for vip in "controlPlaneVip ${USTART_CONTROL_PLANE_VIP:-}" "publicVip ${USTART_PUBLIC_VIP:-}"; do
    if [[ -z ${vip#* } ]] || ! command -v ip >/dev/null; then continue; fi
    printf '%s%s' "$sep" "$(vip_json "${vip%% *}" "${vip#* }")"
    sep=', '
  done
  printf '],\n'
  printf '  "endpointNames": [%s],\n' "$(endpoint_names_json)"
  printf '  "listeningTcpPorts": [%s]\n' "$(
    IFS=,
    printf '%s' "${ports[*]}"
  )"
  printf '}\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
say "facts written to $out: ${cpu_model:-unknown CPU}, $(nproc) CPUs, $((mem_kib / 1024)) MiB memory"
