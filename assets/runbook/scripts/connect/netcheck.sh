#!/usr/bin/env bash
# Pings every planned peer address on each shared network and probes the planned MTU with
# don't-fragment packets; writes the results as JSON for uStart's network matrix.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

peers=$(staged /etc/ustart/netcheck-peers.tsv)
out=$(output_file netcheck.json)
say "checking the networks from $USTART_HOST"
probes=()
while IFS=$'\t' read -r peer network address mtu; do
  [[ -n $peer ]] || continue
  # 5 pings: loss and average latency. iputils prints "… 0% packet loss" and "rtt … = a/b/c/d ms".
  result=$(ping -n -q -c 5 -i 0.2 -W 1 "$address" 2>/dev/null || true)
  loss=$(grep -oE '[0-9.]+% packet loss' <<<"$result" | cut -d% -f1 || true)
  avg=$(grep -oE '= [0-9.]+/[0-9.]+' <<<"$result" | cut -d/ -f2 || true)
  # The largest payload that fits the MTU: MTU - 20 (IPv4 header) - 8 (ICMP header).
  if ping -n -q -c 2 -W 1 -M 'do' -s $((mtu - 28)) "$address" >/dev/null 2>&1; then
    mtu_ok=true
  else
    mtu_ok=false
  fi
  say "$peer on $network ($address): loss ${loss:-100}%, avg ${avg:-n/a} ms, MTU $mtu $([[ $mtu_ok == true ]] && echo passes || echo fails)"
  probes+=("$(printf '{"to": "%s", "network": "%s", "address": "%s", "mtu": %s, "lossPercent": %s, "avgMs": %s, "mtuOk": %s}' \
    "$peer" "$network" "$address" "$mtu" "${loss:-100}" "${avg:-null}" "$mtu_ok")")
done <"$peers"
(
  IFS=,
  printf '{"from": "%s", "probes": [%s]}\n' "$USTART_HOST" "${probes[*]}"
) >"$out.tmp"
mv "$out.tmp" "$out"
say "network results written to $out"
