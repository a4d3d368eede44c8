/**
 * The demo lab: one in-process SSH server (ssh2's server side) per server of a plan, on
 * 127.0.0.1, each with a stable host key, answering as the planned server would. It speaks
 * real SSH, so the product connects to it with its real client (docs/demo.md).
 */
import { lookup } from 'node:dns/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { BlockList, createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';
import { resolverFromPlan } from '../engine/plan-targets.js';
import type { StepSpec } from '../engine/types.js';
import { UstartError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import type { HostTarget } from '../ssh/transport.js';
import { DEFAULT_DEMO_SEED, demoHostKey } from './host-key.js';
import { DemoHost, type LabContext } from './host.js';
import { serveSftp } from './sftp.js';

/** What goes wrong in the demo, on purpose. */
export interface DemoScenario {
  /** `STEP@HOST`: the step's first run on that host fails with a realistic error; a retry succeeds. */
  injectFailures?: readonly string[];
  /** Hosts whose SSH port accepts and drops every connection: the client sees a connection failure. */
  unreachable?: readonly string[];
  /** Hosts whose management NIC reports another MAC than the plan's (a preflight finding). */
  macMismatch?: readonly string[];
}

export interface DemoLabOptions {
  /** Host keys are derived from this and the host name; the same seed gives the same keys. */
  seed?: string;
  /** Pace of the transcripts: 1 is realistic (a full install in a few minutes); higher is faster. */
  speed?: number;
  scenario?: DemoScenario;
  /** The steps the lab recognises in exec commands (their `run` and `check`). */
  steps?: readonly StepSpec[];
  /** Where known_hosts is written; a temp folder (removed on dispose) when absent. */
  stateDir?: string;
  /** First port; the hosts get consecutive ports from it. Ephemeral ports when absent. */
  basePort?: number;
  now?: () => number;
}

export interface DemoLab {
  /** Where to connect for each planned server: 127.0.0.1 and its port. */
  readonly targets: ReadonlyMap<string, HostTarget>;
  /** known_hosts holding every demo host's key, for the demo's transport only. */
  readonly knownHostsPath: string;
  readonly hosts: ReadonlyMap<string, DemoHost>;
  readonly speed: number;
  /** Tells the lab which steps to recognise (when they were built after the lab started). */
  useSteps(steps: readonly StepSpec[]): void;
  /** True for a target that is one of this lab's hosts, exactly as the lab names them. */
  isLabTarget(target: Pick<HostTarget, 'address' | 'port'>): boolean;
  /**
   * True for a target that may reach one of this lab's hosts however its address is written
   * (`localhost`, `0.0.0.0`, `::ffff:127.0.0.1`, a name resolving to loopback): a lab port
   * on an address that resolves to loopback or the unspecified address.
   */
  mayReach(target: Pick<HostTarget, 'address' | 'port'>): Promise<boolean>;
  /** Closes every server and connection and stops every simulated process and timer. */
  dispose(): Promise<void>;
}

export const DEMO_ADDRESS = '127.0.0.1';

export async function startDemoLab(plan: Plan, options: DemoLabOptions = {}): Promise<DemoLab> {
  const speed = options.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) {
    throw new UstartError(
      'InvalidArgument',
      `the demo speed must be a number above 0, such as 1 or 50; got ${speed}.`,
    );
  }
  const scenario = options.scenario ?? {};
  const names = plan.servers.map((s) => s.hostname);
  for (const [what, list] of [
    ['--unreachable', scenario.unreachable ?? []],
    ['--mac-mismatch', scenario.macMismatch ?? []],
  ] as const) {
    for (const h of list) checkHost(h, names, what);
  }
  const failures = new Set<string>();
  for (const f of scenario.injectFailures ?? []) {
    const at = f.lastIndexOf('@');
    if (at < 1)
      throw new UstartError(
        'InvalidArgument',
        `--inject-failure ${f}: write it as STEP@HOST, such as umetal.containerd@cmp-01.`,
      );
    checkHost(f.slice(at + 1), names, '--inject-failure');
    failures.add(f);
  }

  const ownsStateDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'ustart-demo-lab-')));
  const now = options.now ?? Date.now;
  const user = plan.access.user;
  const seed = options.seed ?? DEFAULT_DEMO_SEED;
  const resolve = resolverFromPlan(plan);
  const controllers = new Set(
    plan.servers.filter((s) => s.roles.includes('controller')).map((s) => s.hostname),
  );
  let steps: readonly StepSpec[] = [];
  const finishedAnywhere = new Map<string, Set<string>>();
  const timers = new Set<{ timer: NodeJS.Timeout; cancel: () => void }>();
  const hosts = new Map<string, DemoHost>();

  const context: LabContext = {
    plan,
    speed,
    now,
    matchStep: (command) => matchStep(steps, command),
    failsFirst: (stepId, host) => failures.has(`${stepId}@${host}`),
    stepFinished(stepId, host) {
      let set = finishedAnywhere.get(stepId);
      if (!set) finishedAnywhere.set(stepId, (set = new Set()));
      set.add(host);
    },
    vipHolder(vip) {
      // kube-vip comes up with kubeadm init on the first controller and keeps the lease; it
      // announces the public VIP once uStack's ingress Service has it.
      const since = vip === 'controlPlaneVip' ? 'umetal.kubeadm-init' : 'ustack.infra';
      if (!finishedAnywhere.get(since)?.size) return null;
      const first = [...(finishedAnywhere.get('umetal.kubeadm-init') ?? [])][0];
      return (first && hosts.get(first)?.facts) || null;
    },
    clusterNodes(host) {
      const members = [
        ...(finishedAnywhere.get('umetal.kubeadm-init') ?? []),
        ...(finishedAnywhere.get('umetal.join-controllers') ?? []),
        ...(finishedAnywhere.get('umetal.join-workers') ?? []),
      ];
      // Only a controller that is part of the cluster holds admin.conf.
      if (!members.includes(host) || !controllers.has(host)) return undefined;
      const ready = (finishedAnywhere.get('umetal.cni')?.size ?? 0) > 0;
      return plan.servers
        .filter((s) => members.includes(s.hostname))
        .map((s) => ({
          name: s.hostname,
          ready,
          roles: s.roles.includes('controller') ? 'control-plane' : '<none>',
          version: `v${plan.kubernetes.version.replace(/^v/, '')}`,
          ip: hosts.get(s.hostname)?.facts.nics[0]?.address ?? '',
        }));
    },
    sleep(ms, signal) {
      const scaled = ms / speed;
      if (signal.aborted) return Promise.reject(new Error('aborted'));
      if (scaled < 1) return new Promise((r) => setImmediate(r));
      return new Promise<void>((resolvePromise, reject) => {
        const entry = {
          timer: setTimeout(() => {
            timers.delete(entry);
            signal.removeEventListener('abort', entry.cancel);
            resolvePromise();
          }, scaled),
          cancel: () => {
            clearTimeout(entry.timer);
            timers.delete(entry);
            reject(new Error('aborted'));
          },
        };
        timers.add(entry);
        signal.addEventListener('abort', entry.cancel, { once: true });
      });
    },
  };

  const servers: { close(): Promise<void> }[] = [];
  const targets = new Map<string, HostTarget>();
  const ports = new Set<number>();
  const lines: string[] = [];
  try {
    for (const [i, server] of plan.servers.entries()) {
      const key = demoHostKey(server.hostname, seed);
      const port = options.basePort === undefined ? 0 : options.basePort + i;
      let listening: { port: number; close(): Promise<void> };
      if (scenario.unreachable?.includes(server.hostname)) {
        listening = await listenDropping(port);
      } else {
        const host = new DemoHost(context, server, user, {
          macMismatch: scenario.macMismatch?.includes(server.hostname),
        });
        hosts.set(server.hostname, host);
        listening = await listenSsh(host, key.privateKey, port);
      }
      servers.push(listening);
      ports.add(listening.port);
      targets.set(server.hostname, {
        name: server.hostname,
        address: DEMO_ADDRESS,
        port: listening.port,
        user,
      });
      lines.push(`[${DEMO_ADDRESS}]:${listening.port} ${key.publicLine}`);
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.close()));
    if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
    throw e;
  }
  const knownHostsPath = join(stateDir, 'known_hosts');
  await writeFile(knownHostsPath, `${lines.join('\n')}\n`, { mode: 0o600 });

  const lab: DemoLab = {
    targets,
    knownHostsPath,
    hosts,
    speed,
    useSteps(next) {
      for (const f of failures) {
        const stepId = f.slice(0, f.lastIndexOf('@'));
        const step = next.find((s) => s.id === stepId);
        if (!step) {
          throw new UstartError(
            'InvalidArgument',
            `--inject-failure ${f}: there is no step "${stepId}"; the steps are ${next.map((s) => s.id).join(', ')}.`,
          );
        }
        const host = f.slice(f.lastIndexOf('@') + 1);
        if (!resolve(step.targets, step).includes(host)) {
          throw new UstartError(
            'InvalidArgument',
            `--inject-failure ${f}: step ${stepId} does not run on ${host}; it runs on ${resolve(step.targets, step).join(', ')}.`,
          );
        }
      }
      steps = next;
    },
    isLabTarget: (t) => t.address === DEMO_ADDRESS && ports.has(t.port),
    mayReach: async (t) => ports.has(t.port) && (await resolvesToThisMachine(t.address)),
    async dispose() {
      for (const h of hosts.values()) h.stopAll();
      for (const t of [...timers]) t.cancel();
      await Promise.all(servers.map((s) => s.close()));
      if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
    },
  };
  if (options.steps) lab.useSteps(options.steps);
  return lab;
}

/** Loopback and the unspecified address, which a connection takes to this machine. */
const THIS_MACHINE = new BlockList();
THIS_MACHINE.addSubnet('127.0.0.0', 8, 'ipv4');
THIS_MACHINE.addAddress('0.0.0.0', 'ipv4');
THIS_MACHINE.addAddress('::1', 'ipv6');
THIS_MACHINE.addAddress('::', 'ipv6');

/**
 * True when any address the name resolves to is this machine (BlockList also matches the
 * IPv4-mapped forms, `::ffff:127.0.0.1`). A name that does not resolve reaches nothing:
 * the connection itself then fails with the resolver's error.
 */
export async function resolvesToThisMachine(address: string): Promise<boolean> {
  const found = await lookup(address, { all: true, verbatim: true }).catch(() => []);
  return found.some((a) => THIS_MACHINE.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4'));
}

function checkHost(host: string, names: readonly string[], flag: string): void {
  if (!names.includes(host)) {
    throw new UstartError(
      'InvalidArgument',
      `${flag} names "${host}", which is not a server of the demo plan; the servers are ${names.join(', ')}.`,
    );
  }
}

/** The step a command runs: its `run` or `check`, possibly after the engine's env lines. */
export function matchStep(
  steps: readonly StepSpec[],
  command: string,
): { step: StepSpec; kind: 'run' | 'check' } | undefined {
  const is = (c: string | undefined) =>
    c !== undefined && (command === c || command.endsWith(`\n${c}`));
  for (const step of steps) {
    if (is(step.run)) return { step, kind: 'run' };
    if (is(step.check)) return { step, kind: 'check' };
  }
  return undefined;
}

function listenOn(server: NetServer, port: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, DEMO_ADDRESS, () => {
      server.off('error', reject);
      resolvePromise((server.address() as { port: number }).port);
    });
  });
}

/** The "unreachable" host: the port is taken, so nothing else gets it, but every connection is dropped. */
async function listenDropping(port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((s: Socket) => s.destroy());
  const bound = await listenOn(server, port);
  return {
    port: bound,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function listenSsh(
  host: DemoHost,
  hostKey: string,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const clients = new Set<Connection>();
  const server = new ssh2.Server({ hostKeys: [hostKey], ident: 'uStart-demo-lab' }, (client) => {
    clients.add(client);
    // Without it Nagle's algorithm meets the client's delayed ACKs and every channel
    // request waits ~40-200 ms on loopback (measured: 180 ms per exec).
    (client as Connection & { setNoDelay(on: boolean): void }).setNoDelay(true);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      // A demo: the planned user gets in with any key or password; nothing here is real.
      if (ctx.username !== host.user) return ctx.reject(['publickey', 'password']);
      if (ctx.method === 'password' || ctx.method === 'publickey') return ctx.accept();
      if (ctx.method === 'keyboard-interactive') {
        return ctx.prompt([{ prompt: 'Password: ', echo: false }], () => ctx.accept());
      }
      ctx.reject(['publickey', 'password', 'keyboard-interactive']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        let pty = false;
        session.on('pty', (accept) => {
          pty = true;
          accept?.();
        });
        session.on('window-change', (accept) => accept?.());
        session.on('env', (accept) => accept?.());
        session.on('exec', (accept, _reject, info) => {
          const channel: ServerChannel = accept();
          void host.exec(info.command, channel);
        });
        session.on('shell', (accept) => host.shell(accept(), pty));
        session.on('sftp', (accept) => serveSftp(accept(), host.vfs, host.user));
      });
    });
  });
  server.on('error', () => undefined);
  const bound = await listenOn(server as unknown as NetServer, port);
  return {
    port: bound,
    close: () =>
      new Promise<void>((r) => {
        for (const c of clients) c.end();
        server.close(() => r());
      }),
  };
}
