/**
 * One simulated server of the demo lab: its file system, its facts from the plan, the
 * steps it has "run", and how it answers an exec or an interactive shell on its SSH server.
 */
import { randomBytes } from 'node:crypto';
import type { ServerChannel } from 'ssh2';
import type { StepSpec } from '../engine/types.js';
import type { Plan, Server } from '../plan/schema.js';
import { AS_ROOT } from '../logbundle/host-logs.js';
import { killScriptTarget, unwrapCommand } from '../ssh/remote-exec.js';
import { homeOf, newShellState, runScript, type CommandHost } from './commands.js';
import { factsDocument, hostFacts, osReleaseText, type HostFacts } from './host-facts.js';
import type { Io } from './sh-interpreter.js';
import {
  failureTranscript,
  runTranscript,
  transcriptContext,
  type TranscriptLine,
} from './transcripts.js';
import { Vfs } from './vfs.js';

/** What every host of a lab shares: the plan, the steps, the pace and the cluster. */
export interface LabContext {
  readonly plan: Plan;
  readonly speed: number;
  now(): number;
  /** The step whose `run` or `check` this command is, if any. */
  matchStep(command: string): { step: StepSpec; kind: 'run' | 'check' } | undefined;
  /** True when the scenario fails this step on this host the first time. */
  failsFirst(stepId: string, host: string): boolean;
  stepFinished(stepId: string, host: string): void;
  /** The facts of the controller whose kube-vip holds a VIP at this point of the run, if any. */
  vipHolder(vip: 'controlPlaneVip' | 'publicVip'): HostFacts | null;
  clusterNodes(host: string): ReturnType<CommandHost['clusterNodes']>;
  /** Waits `ms` of demo time; rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Services a finished step leaves running (for `systemctl`). */
const SERVICES_OF_STEP: Record<string, string[]> = {
  'umetal.time-sync': ['chrony'],
  'umetal.containerd': ['containerd'],
  'umetal.kubeadm-init': ['kubelet'],
  'umetal.join-controllers': ['kubelet'],
  'umetal.join-workers': ['kubelet'],
};

export class DemoHost implements CommandHost {
  readonly facts: HostFacts;
  readonly vfs: Vfs;
  readonly bootedAt: number;
  /** Ids of the steps whose `run` finished here; their `check` passes from then on. */
  readonly done = new Set<string>();
  private readonly services = new Set<string>();
  private readonly secrets = new Map<string, Record<string, string>>();
  private readonly attempts = new Map<string, number>();
  private readonly processes = new Map<number, AbortController>();
  private nextPid = 24_000;

  constructor(
    private readonly lab: LabContext,
    readonly server: Server,
    readonly user: string,
    options: { macMismatch?: boolean } = {},
  ) {
    this.facts = hostFacts(lab.plan, server, options);
    this.bootedAt = lab.now();
    this.vfs = new Vfs(() => lab.now());
    this.seedFiles();
  }

  get name(): string {
    return this.server.hostname;
  }

  now(): number {
    return this.lab.now();
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return this.lab.sleep(ms, signal);
  }

  killProcess(pid: number): boolean {
    const p = this.processes.get(pid);
    if (!p) return false;
    p.abort();
    return true;
  }

  processAlive(pid: number): boolean {
    return this.processes.has(pid);
  }

  clusterNodes() {
    return this.lab.clusterNodes(this.name);
  }

  activeServices(): ReadonlySet<string> {
    return this.services;
  }

  /**
   * The Secrets the runbook's steps make in the cluster, once their step ran here: fresh
   * random values per demo host, so a demo shows the handover's reveal without a fixed
   * password anyone could copy from the source.
   */
  kubeSecret(namespace: string, name: string): Record<string, string> | undefined {
    const made = DEMO_SECRETS[`${namespace}/${name}`];
    if (!made || !this.done.has(made.step) || !this.clusterNodes()) return undefined;
    let values = this.secrets.get(`${namespace}/${name}`);
    if (!values) {
      values = made.values(`demo-${randomBytes(9).toString('base64url')}`, this.lab.plan);
      this.secrets.set(`${namespace}/${name}`, values);
    }
    return values;
  }

  /** Stops every simulated process (the lab is closing). */
  stopAll(): void {
    for (const p of this.processes.values()) p.abort();
  }

  /** Answers one exec request: the transport's wrapper, then the command inside it. */
  async exec(line: string, channel: ServerChannel): Promise<void> {
    const pid = this.nextPid++;
    const process = new AbortController();
    this.processes.set(pid, process);
    // The client hanging up ends the command, as sshd's SIGHUP does.
    const hangUp = () => process.abort();
    channel.once('close', hangUp);
    const stdin = new StdinBuffer(channel);
    const out = safeWriter(channel);
    let code = 0;
    try {
      const wrapped = unwrapCommand(line);
      let command = line;
      if (wrapped) {
        out.stderr(`${wrapped.pgidMarker} ${pid}\n`);
        if (wrapped.sudo?.prompt) {
          // Any password will do: the demo host has no real accounts.
          out.stderr(wrapped.sudo.prompt);
          await stdin.line();
        }
        if (wrapped.sudo) out.stderr(`${wrapped.sudo.startMarker}\n`);
        command = wrapped.command;
      }
      // The log collector's become-root preamble needs command substitution, which the
      // demo shell lacks; a demo host's user reads every log anyway.
      if (command.startsWith(AS_ROOT)) command = command.slice(AS_ROOT.length);
      const io: Io = {
        stdin: () => stdin.all(),
        stdout: out.stdout,
        stderr: out.stderr,
        signal: process.signal,
      };
      const killTarget = killScriptTarget(command);
      if (killTarget !== undefined) {
        this.killProcess(killTarget);
        code = 0;
      } else {
        const match = this.lab.matchStep(command);
        code = match
          ? await this.playStep(match.step, match.kind, io)
          : await runScript(command, this, io, newShellState(this));
      }
      // Ssh2Transport attaches its 'exit' listener an await after the channel opens, and
      // ssh2 emits 'exit' once, unbuffered: a status sent before the client is listening is
      // lost and the outcome reads "unknown". The client ends stdin only once it listens
      // (after the pgid marker), so a wrapped command reports its status after that.
      if (wrapped) await stdin.all();
    } finally {
      this.processes.delete(pid);
      channel.off('close', hangUp);
      stdin.dispose();
    }
    if (process.signal.aborted) out.exit('TERM');
    else out.exit(code);
  }

  /** An interactive login: a prompt that answers common commands until `exit`. */
  shell(channel: ServerChannel, pty: boolean): void {
    const out = safeWriter(channel);
    const nl = (s: string | Uint8Array) =>
      pty ? Buffer.from(s).toString('utf8').replace(/\r?\n/g, '\r\n') : s;
    const state = newShellState(this);
    const prompt = () => {
      const cwd =
        state.cwd === homeOf(this.user)
          ? '~'
          : state.cwd.startsWith(`${homeOf(this.user)}/`)
            ? `~${state.cwd.slice(homeOf(this.user).length)}`
            : state.cwd;
      out.stdout(`${this.user}@${this.name}:${cwd}$ `);
    };
    out.stdout(
      nl(
        `Welcome to ${this.facts.os.prettyName} (GNU/Linux ${this.facts.os.kernel} x86_64)\n\n` +
          `  uStart demo lab: a simulated ${this.server.model} of site ${this.lab.plan.site.name}.\n` +
          `  Nothing here is a real server. Try: hostname, ip a, lsblk, free -h, kubectl get nodes.\n\n`,
      ),
    );
    prompt();
    let line = '';
    let running: AbortController | undefined;
    const run = async (text: string) => {
      if (/^\s*(exit|logout)(\s+\d+)?\s*$/.test(text)) {
        out.stdout(nl('logout\n'));
        out.exit(Number(/\d+/.exec(text)?.[0] ?? 0));
        return;
      }
      if (text.trim()) {
        running = new AbortController();
        const io: Io = {
          stdin: () => Promise.resolve(Buffer.alloc(0)),
          stdout: (d) => out.stdout(nl(d)),
          stderr: (d) =>
            out.stdout(
              nl(
                Buffer.from(d)
                  .toString('utf8')
                  .replace(/^sh: 1: /gm, '-bash: '),
              ),
            ),
          signal: running.signal,
        };
        await runScript(text, this, io, state);
        running = undefined;
      }
      prompt();
      // What was typed (or piped) while the command ran is read now, as a terminal would.
      const next = typedAhead;
      typedAhead = '';
      feed(next);
    };
    let typedAhead = '';
    const feed = (text: string) => {
      for (const [i, ch] of [...text].entries()) {
        if (running) {
          if (ch === '\u0003') running.abort();
          else typedAhead += [...text].slice(i).join('');
          if (ch !== '\u0003') return;
          continue;
        }
        if (ch === '\r' || ch === '\n') {
          if (pty) out.stdout('\r\n');
          const text = line;
          line = '';
          void run(text);
        } else if (ch === '\u0003') {
          line = '';
          out.stdout(pty ? '^C\r\n' : '\n');
          prompt();
        } else if (ch === '\u0004' && !line) {
          void run('exit');
        } else if (ch === '\u007f' || ch === '\b') {
          if (line) {
            line = line.slice(0, -1);
            if (pty) out.stdout('\b \b');
          }
        } else if (ch >= ' ') {
          line += ch;
          if (pty) out.stdout(ch);
        }
      }
    };
    channel.on('data', (data: Buffer) => feed(data.toString('utf8')));
  }

  private async playStep(step: StepSpec, kind: 'run' | 'check', io: Io): Promise<number> {
    if (kind === 'check') return this.done.has(step.id) ? 0 : 1;
    const attempt = (this.attempts.get(step.id) ?? 0) + 1;
    this.attempts.set(step.id, attempt);
    const ctx = transcriptContext(this.lab.plan, this.server, step.id);
    if (attempt === 1 && this.lab.failsFirst(step.id, this.name)) {
      const failure = failureTranscript(step, ctx);
      await this.play(failure.lines, io);
      return failure.exitCode;
    }
    await this.play(runTranscript(step, ctx), io);
    if (io.signal.aborted) return 143;
    if (step.id === 'connect.facts') {
      const doc = factsDocument(this.facts, this.now(), this.lab.plan.site.dns, {
        plan: this.lab.plan,
        vipHolder: (vip) => this.lab.vipHolder(vip),
      });
      this.vfs.mkdirp('/var/lib/ustart/out');
      this.vfs.write('/var/lib/ustart/out/facts.json', doc);
      io.stdout(doc);
    }
    // What the real script leaves for the engine to read back (step outputs).
    for (const o of step.outputs ?? []) {
      if (this.vfs.exists(o.path)) continue;
      this.vfs.mkdirp(o.path.slice(0, o.path.lastIndexOf('/')) || '/');
      this.vfs.write(o.path, demoOutput(o.name, this.lab.plan, this.server));
    }
    this.done.add(step.id);
    this.leaveFiles(step.id);
    for (const s of SERVICES_OF_STEP[step.id] ?? []) this.services.add(s);
    this.lab.stepFinished(step.id, this.name);
    return 0;
  }

  private async play(lines: readonly TranscriptLine[], io: Io): Promise<void> {
    for (const l of lines) {
      try {
        await this.lab.sleep(l.delayMs, io.signal);
      } catch {
        return;
      }
      (l.stream === 'stderr' ? io.stderr : io.stdout)(`${l.text}\n`);
    }
  }

  /** Files a real step leaves on the host that the install summary reads (src/app/handover.ts). */
  private leaveFiles(stepId: string): void {
    const plan = this.lab.plan;
    if (stepId === 'umetal.kubeadm-init') {
      this.vfs.mkdirp('/etc/kubernetes');
      this.vfs.write(
        '/etc/kubernetes/admin.conf',
        demoKubeconfig(plan, 'kubernetes-admin', `${plan.kubernetes.controlPlaneVip}:6443`),
        { mode: 0o600 },
      );
    }
    if (stepId === 'ugarden.openstack-objects') {
      this.vfs.mkdirp('/var/lib/ustart/garden');
      this.vfs.write('/var/lib/ustart/garden/api-address', `${DEMO_GARDEN_API}\n`);
    }
  }

  private seedFiles(): void {
    const v = this.vfs;
    for (const d of [
      '/etc',
      '/tmp',
      '/root',
      '/usr/bin',
      '/usr/local/bin',
      '/var/lib',
      '/var/log',
      '/opt',
      '/run',
      '/home',
    ])
      v.mkdirp(d);
    v.mkdirp(
      homeOf(this.user),
      0o750,
      this.user === 'root' ? 'root:root' : `${this.user}:${this.user}`,
    );
    v.write('/etc/os-release', osReleaseText(this.facts.os));
    v.write('/etc/hostname', `${this.name}\n`);
    v.write('/etc/hosts', `127.0.0.1 localhost\n127.0.1.1 ${this.name}\n`);
    v.write(
      '/etc/fstab',
      `UUID=${this.facts.bootId.slice(0, 8)} / ext4 defaults 0 1\n/swap.img none swap sw 0 0\n`,
    );
    v.write('/etc/machine-id', `${this.facts.bootId}\n`);
  }
}

/** A plausible value for a step output the demo host "produced". */
function demoOutput(name: string, plan: Plan, server: Server): string {
  if (name === 'netcheck') return netcheckDocument(plan, server);
  if (name === 'join') {
    return `JOIN_ENDPOINT=${plan.kubernetes.controlPlaneVip}:6443\nJOIN_TOKEN=demo00.0000000000000000\n`;
  }
  if (name === 'garden-kubeconfig') {
    return demoKubeconfig(plan, `${plan.site.name}-garden-01-admin`, `${DEMO_GARDEN_API}:6443`);
  }
  if (name.endsWith('kubeconfig')) {
    return `apiVersion: v1\nkind: Config\n# uStart demo lab: ${name} of site ${plan.site.name}; no real cluster.\n`;
  }
  return `{"demo": true, "output": ${JSON.stringify(name)}}\n`;
}

/** The workload cluster's floating IP in the demo: an address of a documentation range. */
const DEMO_GARDEN_API = '198.51.100.20';

/** A kubeconfig of the shape kubeadm and clusterctl write, holding no real key. */
function demoKubeconfig(plan: Plan, user: string, server: string): string {
  const fake = (what: string) =>
    Buffer.from(`uStart demo lab ${what} for ${plan.site.name}; not a real key`).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${fake('CA')}`,
    `    server: https://${server}`,
    `  name: ${plan.site.name}`,
    'contexts:',
    '- context:',
    `    cluster: ${plan.site.name}`,
    `    user: ${user}`,
    `  name: ${user}@${plan.site.name}`,
    `current-context: ${user}@${plan.site.name}`,
    'preferences: {}',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${fake('client certificate')}`,
    `    client-key-data: ${fake('client key')}`,
    '',
  ].join('\n');
}

/** The Secrets the demo cluster holds once the step that makes each has run. */
const DEMO_SECRETS: Record<
  string,
  { step: string; values(password: string, plan: Plan): Record<string, string> }
> = {
  'monitoring/grafana-admin': {
    step: 'umetal.monitoring',
    values: (password) => ({ 'admin-user': 'admin', 'admin-password': password }),
  },
  'yaook/keystone-admin': {
    step: 'ustack.keystone',
    values: (password) => ({
      OS_USERNAME: 'yaook-sys-maint',
      OS_PASSWORD: password,
      OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_AUTH_TYPE: 'password',
    }),
  },
  'yaook/root-ca': {
    step: 'ustack.infra',
    values: (_password, plan) => ({
      'tls.crt': `-----BEGIN CERTIFICATE-----\n${Buffer.from(`uStart demo lab root CA of ${plan.site.name}; not a real certificate`).toString('base64')}\n-----END CERTIFICATE-----\n`,
    }),
  },
  'ustart-git/gitea-admin': {
    step: 'ugarden.git-server',
    values: (password) => ({ username: 'ustart', password }),
  },
};

/** connect.netcheck's result: every planned peer answers, without loss, at the planned MTU. */
function netcheckDocument(plan: Plan, server: Server): string {
  const probes = plan.networks
    .filter((n) => n.purpose !== 'bmc' && server.addresses[n.name])
    .flatMap((n) =>
      plan.servers
        .filter((p) => p.hostname !== server.hostname && p.addresses[n.name])
        .map((p, i) => ({
          to: p.hostname,
          network: n.name,
          address: p.addresses[n.name]!,
          mtu: n.mtu ?? 1500,
          lossPercent: 0,
          avgMs: Math.round((0.12 + ((i * 7) % 10) / 100) * 1000) / 1000,
          mtuOk: true,
        })),
    );
  return `${JSON.stringify({ from: server.hostname, probes }, null, 2)}\n`;
}

/** Stdin of one exec: read a line at a time (sudo's password), or all of it once it ends. */
class StdinBuffer {
  private data = Buffer.alloc(0);
  private ended = false;
  private waiters: (() => void)[] = [];
  private readonly onData = (chunk: Buffer) => {
    this.data = Buffer.concat([this.data, chunk]);
    this.wake();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly channel: ServerChannel) {
    channel.on('data', this.onData);
    channel.once('end', this.onEnd);
    channel.once('close', this.onEnd);
  }

  async line(): Promise<string> {
    for (;;) {
      const at = this.data.indexOf(10);
      if (at >= 0) {
        const text = this.data.subarray(0, at).toString('utf8');
        this.data = this.data.subarray(at + 1);
        return text;
      }
      if (this.ended) return '';
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async all(): Promise<Buffer> {
    while (!this.ended) await new Promise<void>((r) => this.waiters.push(r));
    return this.data;
  }

  dispose(): void {
    this.channel.off('data', this.onData);
    this.channel.off('end', this.onEnd);
    this.channel.off('close', this.onEnd);
    this.onEnd();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Writes that do nothing once the client has gone, instead of throwing. */
function safeWriter(channel: ServerChannel) {
  let closed = false;
  channel.once('close', () => (closed = true));
  return {
    stdout: (d: string | Uint8Array) => {
      if (!closed) channel.write(d);
    },
    stderr: (d: string | Uint8Array) => {
      if (!closed) channel.stderr.write(d);
    },
    exit: (codeOrSignal: number | 'TERM') => {
      if (closed) return;
      if (codeOrSignal === 'TERM') channel.exit('TERM', false, '');
      else channel.exit(codeOrSignal);
      channel.end();
    },
  };
}
