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
  printf '  "freeBytes": {"root": %s},\n' "${root_free:-0}"
  printf '  "listeningTcpPorts": [%s]\n' "$(
    IFS=,
    printf '%s' "${ports[*]}"
  )"
  printf '}\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
say "facts written to $out: ${cpu_model:-unknown CPU}, $(nproc) CPUs, $((mem_kib / 1024)) MiB memory"
