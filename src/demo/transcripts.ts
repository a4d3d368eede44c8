/**
 * What a demo host prints while it "runs" a runbook step: a transcript from
 * assets/demo/transcripts/<step id>.txt with the plan's names, addresses and versions filled
 * in, or one made from the step's title when the step has no file. Format of the files:
 * `#` starts a comment; `@N ` before a line waits N ms (at speed 1) first, otherwise 60 ms;
 * `!` sends the line to stderr; `{{name}}` is replaced from the context; a line that is
 * only `{{name}}` of a list expands to one line per item.
 */
import { readFileSync } from 'node:fs';
import type { Plan, Server } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import { hostLinks } from '../plan/host-links.js';

export interface TranscriptLine {
  delayMs: number;
  text: string;
  stream: 'stdout' | 'stderr';
}

export const DEFAULT_LINE_DELAY_MS = 60;

type Context = Record<string, string | string[]>;

/** The values a transcript of `server` may use. */
export function transcriptContext(plan: Plan, server: Server, stepId: string): Context {
  const controllers = plan.servers.filter((s) => s.roles.includes('controller'));
  const first = controllers[0] ?? plan.servers[0]!;
  const mgmtName = plan.networks.find((n) => n.purpose === 'management')?.name ?? 'mgmt';
  const ip = (s: Server) => s.addresses[mgmtName] ?? Object.values(s.addresses)[0] ?? '127.0.0.1';
  const version = plan.kubernetes.version.replace(/^v/, '');
  const osds = plan.servers.flatMap((s) =>
    s.disks.filter((d) => d.use === 'ceph-osd').map((d) => `${s.hostname}:${d.device}`),
  );
  const k8sNodes = plan.servers.filter((s) => s.roles.length > 0);
  const w = Math.max(...k8sNodes.map((s) => s.hostname.length)) + 3;
  return {
    host: server.hostname,
    ip: ip(server),
    fqdn: `${server.hostname}.${plan.site.domain}`,
    domain: plan.site.domain,
    site: plan.site.name,
    os: plan.site.osRelease ?? 'ubuntu-24.04',
    codename: (plan.site.osRelease ?? 'ubuntu-24.04').startsWith('debian') ? 'bookworm' : 'noble',
    k8sVersion: version,
    k8sMinor: version.split('.').slice(0, 2).join('.'),
    vip: plan.kubernetes.controlPlaneVip,
    podCidr: plan.kubernetes.podCidr,
    serviceCidr: plan.kubernetes.serviceCidr,
    firstController: first.hostname,
    firstControllerIp: ip(first),
    controllers: controllers.map((s) => s.hostname).join(', '),
    nodeCount: String(k8sNodes.length),
    ntp: plan.site.ntp[0] ?? 'pool.ntp.org',
    openstackRelease: plan.openstack.release,
    region: plan.openstack.region,
    publicVip: plan.openstack.publicVip,
    osdCount: String(osds.length),
    osdList: osds.map((o) => `  created OSD on ${o}`),
    service: stepId.split('.').at(-1) ?? stepId,
    netLinks: hostLinks(plan, server)
      .filter((l) => l.network !== undefined && l.network !== mgmtName)
      .map((l) => {
        const net = plan.networks.find((n) => n.name === l.network);
        const address = server.addresses[l.network!];
        return `  ${l.name}: ${l.kind === 'vlan' ? `VLAN ${l.vlan} on ${l.parent}, ` : ''}MTU ${l.mtu}${address && net ? `, address ${address}/${net.cidr.split('/')[1]}` : ''}`;
      }),
    netConfig: (plan.site.osRelease ?? 'ubuntu-24.04').startsWith('debian')
      ? '/etc/network/interfaces.d/ustart'
      : '/etc/netplan/60-ustart.yaml (mode 0600)',
    cpuCount: String(server.cpu.sockets * server.cpu.cores * server.cpu.threads),
    hostsLines: plan.servers.map(
      (s) => `  ${ip(s).padEnd(15)} ${s.hostname}.${plan.site.domain} ${s.hostname}`,
    ),
    nodesTable: [
      `${'NAME'.padEnd(w)}STATUS   ROLES           AGE   VERSION`,
      ...k8sNodes.map(
        (s) =>
          `${s.hostname.padEnd(w)}Ready    ${(s.roles.includes('controller') ? 'control-plane' : '<none>').padEnd(16)}${'4m'.padEnd(6)}v${version}`,
      ),
    ],
  };
}

const cache = new Map<string, string | null>();

function templateFor(name: string): string | undefined {
  if (!cache.has(name)) {
    try {
      cache.set(name, readFileSync(assetPath('demo', 'transcripts', `${name}.txt`), 'utf8'));
    } catch {
      cache.set(name, null);
    }
  }
  return cache.get(name) ?? undefined;
}

/** Parses a transcript text with the context filled in. */
export function parseTranscript(text: string, ctx: Context): TranscriptLine[] {
  const out: TranscriptLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#') || raw === '') continue;
    let line = raw;
    let delayMs = DEFAULT_LINE_DELAY_MS;
    const at = /^@(\d+) ?/.exec(line);
    if (at) {
      delayMs = Number(at[1]);
      line = line.slice(at[0].length);
    }
    const stream = line.startsWith('!') ? 'stderr' : 'stdout';
    if (stream === 'stderr') line = line.slice(1);
    const list = /^\{\{(\w+)\}\}$/.exec(line);
    const value = list ? ctx[list[1]!] : undefined;
    if (Array.isArray(value)) {
      value.forEach((text, i) =>
        out.push({ delayMs: i === 0 ? delayMs : DEFAULT_LINE_DELAY_MS, text, stream }),
      );
      continue;
    }
    out.push({
      delayMs,
      stream,
      text: line.replace(/\{\{(\w+)\}\}/g, (m, k: string) => {
        const v = ctx[k];
        return v === undefined ? m : Array.isArray(v) ? v.join(', ') : v;
      }),
    });
  }
  return out;
}

/** The transcript of a step's `run` on one host. */
export function runTranscript(
  step: { id: string; title: string; phase: string },
  ctx: Context,
): TranscriptLine[] {
  const service = step.id.startsWith('ustack.') ? templateFor('ustack.service') : undefined;
  const text =
    templateFor(step.id) ??
    (/^ustack\.(keystone|glance|placement|neutron|nova|cinder|horizon)$/.test(step.id)
      ? service
      : undefined);
  if (text) return parseTranscript(text, ctx);
  return parseTranscript(
    [
      `==> ${step.title} on {{host}}`,
      '@400 ... preparing',
      '@600 ... applying',
      '@300 ... verifying',
      `==> ${step.title}: done`,
    ].join('\n'),
    ctx,
  );
}

/** The transcript of an injected failure of the step on one host, and its exit code. */
export function failureTranscript(
  step: { id: string; title: string },
  ctx: Context,
): { lines: TranscriptLine[]; exitCode: number } {
  const text = templateFor(`${step.id}.fail`) ?? templateFor('default.fail')!;
  const lines = parseTranscript(text, ctx);
  const exit = /^@?exit (\d+)$/m.exec(text);
  return {
    lines: lines.filter((l) => !/^exit \d+$/.test(l.text)),
    exitCode: exit ? Number(exit[1]) : 1,
  };
}
