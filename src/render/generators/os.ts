/** OS baseline files: the hosts block, chrony, and the peer list for network verification. */
import { endpointDns, endpointHostsLines } from '../../plan/endpoints.js';
import type { HostContext } from '../context.js';

/**
 * Lines for /etc/hosts between uStart's markers: every member host and the API name, and
 * with `openstack.endpointDns: hosts-file` every OpenStack endpoint name on the public VIP,
 * so the smoke test, Cluster API and Horizon's users on the servers resolve them without the
 * customer's DNS (glibc reads /etc/hosts before DNS: docs/upstream-facts.md#nss-hosts-files-first).
 */
export function hostsBlock(ctx: HostContext): string {
  const { plan } = ctx;
  const lines = ctx.members.map(
    (s) =>
      `${s.addresses[ctx.management.name] ?? ''}\t${s.hostname}.${plan.site.domain}\t${s.hostname}`,
  );
  lines.push(`${plan.kubernetes.controlPlaneVip}\tapi.${plan.site.domain}`);
  if (endpointDns(plan) === 'hosts-file') lines.push(...endpointHostsLines(plan));
  return lines.filter((l) => !l.startsWith('\t')).join('\n') + '\n';
}

/** chrony.conf: the plan's NTP servers only, no pool from the distribution. */
export function chronyConf(ctx: HostContext): string {
  const servers = ctx.plan.site.ntp.map((s) => `server ${s} iburst`);
  return [
    "# uStart: time from the site plan's NTP servers only. Rendered, do not edit.",
    ...servers,
    'driftfile /var/lib/chrony/chrony.drift',
    'makestep 1.0 3',
    'rtcsync',
    'keyfile /etc/chrony/chrony.keys',
    'logdir /var/log/chrony',
    '',
  ].join('\n');
}

/**
 * Tab-separated `host network address mtu`: every other member's address on each network
 * this host is also on. The netcheck script pings each of them, with don't-fragment probes
 * at the planned MTU.
 */
export function netcheckPeers(ctx: HostContext): string {
  const mine = new Set(Object.keys(ctx.server.addresses));
  const rows: string[] = [];
  for (const peer of ctx.members) {
    if (peer === ctx.server) continue;
    for (const network of ctx.plan.networks) {
      const address = peer.addresses[network.name];
      if (!address || !mine.has(network.name) || network.purpose === 'bmc') continue;
      rows.push([peer.hostname, network.name, address, String(network.mtu ?? 1500)].join('\t'));
    }
  }
  return rows.join('\n') + (rows.length ? '\n' : '');
}
