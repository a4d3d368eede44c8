#!/usr/bin/env bash
# Pings every planned peer address on each shared network and probes the planned MTU with
# don't-fragment packets; writes the results as JSON for uStart's network matrix.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

peers=$(staged /etc/ustart/netcheck-peers.tsv)
out=$(output_file netcheck.json)
say "checking the networks from $USTART_HOST"
{
  printf '{"from": "%s", "probes": [' "$USTART_HOST"
  sep=''
  while IFS=$'\t' read -r peer network address mtu; do
    [[ -n $peer ]] || continue
    # 5 pings: loss and average latency. iputils prints "… 0% packet loss" and "rtt … = a/b/c/d ms".
    result=$(ping -n -q -c 5 -i 0.2 -W 1 "$address" 2>/dev/null || true)
    loss=$(grep -oE '[0-9.]+% packet loss' <<<"$result" | cut -d% -f1)
    avg=$(grep -oE '= [0-9.]+/[0-9.]+' <<<"$result" | cut -d/ -f2)
    # The largest payload that fits the MTU: MTU - 20 (IPv4 header) - 8 (ICMP header).
    if ping -n -q -c 2 -W 1 -M 'do' -s $((mtu - 28)) "$address" >/dev/null 2>&1; then
      mtu_ok=true
    else
      mtu_ok=false
    fi
    say "$peer on $network ($address): loss ${loss:-100}%, avg ${avg:-n/a} ms, MTU $mtu $([[ $mtu_ok == true ]] && echo passes || echo fails)"
    printf '%s{"to": "%s", "network": "%s", "address": "%s", "mtu": %s, "lossPercent": %s, "avgMs": %s, "mtuOk": %s}' \
      "$sep" "$peer" "$network" "$address" "$mtu" "${loss:-100}" "${avg:-null}" "$mtu_ok"
    sep=', '
  done <"$peers"
  printf ']}\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
say "network results written to $out"
