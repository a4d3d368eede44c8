/**
 * The Connect page's core: can the laptop reach and log in to every planned host, with a
 * host key it knows? Then the connect phase (facts and network probes) as a real run, and
 * its results beside the plan: facts, preflight findings, the network matrix.
 */
import type { ConnectReport, HostCheck } from '../api/index.js';
import { UstartError, isUstartError, messageOf } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import { HostFacts, NetcheckResult } from '../runbook/fact-schemas.js';
import { networkMatrix } from '../runbook/netmatrix.js';
import { preflight, type GatheredFacts } from '../runbook/preflight.js';
import type { HostConnection, HostTarget } from '../ssh/transport.js';
import type { Access } from './access.js';
import type { RunService } from './runs.js';

const FACTS_FILE = '/var/lib/ustart/out/facts.json';
const NETCHECK_FILE = '/var/lib/ustart/out/netcheck.json';
/** Hosts checked at once: each check is a full SSH handshake. */
const CHECK_PARALLELISM = 16;

interface SeenKey {
  address: string;
  port: number;
  fingerprint: string;
}

export class ConnectService {
  /** Host keys offered in the last check, per plan and host: what the dialog may accept. */
  private readonly offered = new Map<string, SeenKey>();

  constructor(
    private readonly access: Access,
    private readonly runs: RunService,
    private readonly resolvePath: (file: string) => string,
  ) {}

  async check(planFile: string, only?: readonly string[]): Promise<HostCheck[]> {
    const abs = this.resolvePath(planFile);
    const { plan } = await this.runs.loadPlan(abs);
    const targets = await this.access.targets(abs, plan);
    const names = only ?? [...targets.keys()];
    const transport = await this.access.transport(abs, plan);
    try {
      const results: HostCheck[] = new Array(names.length);
      let next = 0;
      const worker = async () => {
        while (next < names.length) {
          const i = next++;
          results[i] = await this.checkOne(abs, names[i]!, targets.get(names[i]!), transport);
        }
      };
      await Promise.all(Array.from({ length: Math.min(CHECK_PARALLELISM, names.length) }, worker));
      return results;
    } finally {
      await transport.dispose();
    }
  }

  private async checkOne(
    planFile: string,
    host: string,
    target: HostTarget | undefined,
    transport: Awaited<ReturnType<Access['transport']>>,
  ): Promise<HostCheck> {
    if (!target) {
      throw new UstartError('InvalidArgument', `${host} is not a server of ${planFile}.`);
    }
    const base = {
      host,
      address: target.address,
      port: target.port,
      user: target.user,
      ...(target.jump ? { via: target.jump.name } : {}),
    };
    try {
      const conn = await transport.connect(target);
      await conn.close();
      this.offered.delete(`${planFile}\u0000${host}`);
      return { ...base, state: 'ok' };
    } catch (e) {
      const detail = (isUstartError(e) ? e.detail : {}) as Record<string, unknown>;
      const message = messageOf(e);
      if (isUstartError(e, 'HostKeyUnknown')) {
        this.offered.set(`${planFile}\u0000${host}`, {
          address: String(detail.address),
          port: Number(detail.port),
          fingerprint: String(detail.fingerprint),
        });
        return {
          ...base,
          state: 'host-key-unknown',
          message,
          fingerprint: String(detail.fingerprint),
          ...(detail.keyType ? { keyType: String(detail.keyType) } : {}),
        };
      }
      if (isUstartError(e, 'HostKeyMismatch')) {
        return {
          ...base,
          state: 'host-key-changed',
          message,
          fingerprint: String(detail.fingerprint),
          ...(Array.isArray(detail.knownFingerprints)
            ? { knownFingerprints: detail.knownFingerprints.map(String) }
            : {}),
        };
      }
      if (isUstartError(e, 'AuthFailed')) return { ...base, state: 'auth-failed', message };
      return { ...base, state: 'unreachable', message };
    }
  }

  /** The consultant's answer in the host-key dialog, for the key the last check showed. */
  hostKey(
    planFile: string,
    host: string,
    fingerprint: string,
    decision: 'accept-once' | 'accept' | 'refuse',
  ): void {
    const key = `${this.resolvePath(planFile)}\u0000${host}`;
    const seen = this.offered.get(key);
    if (!seen || seen.fingerprint !== fingerprint) {
      throw new UstartError(
        'InvalidArgument',
        `${host} did not offer ${fingerprint} in the last check; check the hosts again and compare the fingerprint once more.`,
      );
    }
    this.offered.delete(key);
    if (decision === 'refuse') this.access.knownHosts.unpin(seen.address, seen.port);
    else this.access.knownHosts.pin(seen.address, seen.port, fingerprint, decision === 'accept');
  }

  /** Runs the connect phase, then reads what it wrote on each host. */
  async gather(planFile: string, hosts?: readonly string[]): Promise<ConnectReport> {
    const abs = this.resolvePath(planFile);
    const { runId } = await this.runs.start({
      planFile: abs,
      phases: ['connect'],
      ...(hosts ? { hosts: [...hosts] } : {}),
      stepByStep: false,
      pauseOnFailure: false,
    });
    const live = this.runs.liveRun(runId)!;
    const result = await live.done;
    const { plan } = await this.runs.loadPlan(abs);
    const windows = factWindows(live.engine.hub.since(0).events);
    const outputs = await this.readOutputs(abs, plan, hosts);
    const gathered = new Map<string, GatheredFacts>();
    for (const [host, out] of outputs) {
      if (out.facts) {
        gathered.set(host, {
          facts: out.facts,
          window: windows.get(host) ?? { from: 0, to: Number.MAX_SAFE_INTEGER },
        });
      }
    }
    const matrix = networkMatrix(
      plan,
      [...outputs.values()].flatMap((o) => (o.netcheck ? [o.netcheck] : [])),
    );
    const mtuOf = new Map(plan.networks.map((n) => [n.name, n.mtu ?? 1500]));
    return {
      runId,
      state: result.state,
      hosts: plan.servers
        .filter((s) => !hosts || hosts.includes(s.hostname))
        .map((s) => {
          const out = outputs.get(s.hostname);
          return {
            host: s.hostname,
            planned: {
              cpus: s.cpu.sockets * s.cpu.cores * s.cpu.threads,
              memoryGiB: s.memoryGiB,
              disks: s.disks.map((d) => ({ device: d.device, sizeGB: d.sizeGB })),
              macs: s.nics.map((n) => n.mac.toLowerCase()),
              os: plan.site.osRelease ?? 'ubuntu-24.04',
            },
            facts: out?.facts ? factsView(out.facts) : null,
            ...(out?.problem ? { problem: out.problem } : {}),
          };
        }),
      findings: [...preflight(plan, gathered), ...matrix.findings],
      matrix: {
        hosts: matrix.hosts,
        networks: Object.entries(matrix.networks).map(([network, cells]) => ({
          network,
          mtu: mtuOf.get(network) ?? 1500,
          cells: cells.map((c) => ({
            from: c.from,
            to: c.to,
            ...(c.lossPercent !== undefined ? { lossPercent: c.lossPercent } : {}),
            ...(c.avgMs !== undefined ? { avgMs: c.avgMs } : {}),
            ...(c.mtuOk !== undefined ? { mtuOk: c.mtuOk } : {}),
            ok: c.ok,
          })),
        })),
      },
    };
  }

  private async readOutputs(
    planFile: string,
    plan: Plan,
    only?: readonly string[],
  ): Promise<Map<string, { facts?: HostFacts; netcheck?: NetcheckResult; problem?: string }>> {
    const targets = await this.access.targets(planFile, plan);
    const transport = await this.access.transport(planFile, plan);
    const out = new Map<
      string,
      { facts?: HostFacts; netcheck?: NetcheckResult; problem?: string }
    >();
    try {
      await Promise.all(
        [...targets]
          .filter(([h]) => !only || only.includes(h))
          .map(async ([host, target]) => {
            const entry: { facts?: HostFacts; netcheck?: NetcheckResult; problem?: string } = {};
            out.set(host, entry);
            try {
              const conn = await transport.connect(target);
              try {
                const facts = await readJson(conn, FACTS_FILE);
                const parsed = HostFacts.safeParse(facts);
                if (parsed.success) entry.facts = parsed.data;
                else entry.problem = `${FACTS_FILE} on ${host} is not what facts.sh writes`;
                const net = NetcheckResult.safeParse(await readJson(conn, NETCHECK_FILE));
                if (net.success) entry.netcheck = net.data;
              } finally {
                await conn.close();
              }
            } catch (e) {
              entry.problem = messageOf(e);
            }
          }),
      );
    } finally {
      await transport.dispose();
    }
    return out;
  }
}

async function readJson(conn: HostConnection, file: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  const outcome = await conn.exec(`cat ${file}`, {
    sudo: true,
    onStdout: (c) => chunks.push(Buffer.from(c)),
  });
  if (outcome.kind !== 'exited' || outcome.code !== 0) {
    throw new UstartError(
      'StepFailed',
      `${file} could not be read on ${conn.target.name}: the connect phase did not finish there.`,
    );
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** When each host ran connect.facts, on the laptop's clock, to judge the host's clock. */
function factWindows(
  events: readonly { type: string; host?: string; stepId?: string; time: number }[],
): Map<string, { from: number; to: number }> {
  const windows = new Map<string, { from: number; to: number }>();
  for (const e of events) {
    if (e.stepId !== 'connect.facts' || !e.host) continue;
    if (e.type === 'host-step-started') windows.set(e.host, { from: e.time, to: e.time });
    if (e.type === 'host-step-finished') {
      const w = windows.get(e.host);
      if (w) w.to = e.time;
    }
  }
  return windows;
}

function factsView(f: HostFacts) {
  return {
    hostname: f.hostname,
    os: f.os.prettyName || `${f.os.id} ${f.os.versionId}`,
    kernel: f.kernel,
    cpuModel: f.cpu.model,
    cpus: f.cpu.count,
    memoryGiB: Math.round((f.memoryKiB / 1024 / 1024) * 10) / 10,
    disks: (f.disks?.blockdevices ?? [])
      .filter((d) => d.type === 'disk')
      .map((d) => ({ name: d.name, sizeGB: Math.round(Number(d.size) / 1e9) })),
    macs: (f.links ?? [])
      .map((l) => l.address?.toLowerCase())
      .filter((m): m is string => !!m && m !== '00:00:00:00:00:00'),
  };
}
