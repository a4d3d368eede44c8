/**
 * The commands a demo host knows, over its in-memory file system and its planned facts.
 * Output mimics the real tools closely enough for uStart's own helpers (checksums, the
 * cluster lock, the facts snippet) and for a person poking around at the prompt.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import {
  freeText,
  humanBytes,
  ipJson,
  ipText,
  lsblkJson,
  osReleaseText,
  unameA,
  type HostFacts,
} from './host-facts.js';
import {
  ShellExit,
  ShellSyntaxError,
  execute,
  parse,
  tokenize,
  type Io,
  type ShellHost,
  type ShellState,
} from './sh-interpreter.js';
import { Vfs, VfsError, type VfsNode } from './vfs.js';

/** What the commands need from the host they run on. */
export interface CommandHost {
  readonly facts: HostFacts;
  readonly vfs: Vfs;
  readonly user: string;
  readonly bootedAt: number;
  now(): number;
  /** Ends the simulated process with this id; false when there is none. */
  killProcess(pid: number): boolean;
  processAlive(pid: number): boolean;
  /** `kubectl get nodes` rows, or undefined while there is no cluster. */
  clusterNodes():
    { name: string; ready: boolean; roles: string; version: string; ip: string }[] | undefined;
  /** Services the runbook's steps have started on this host. */
  activeServices(): ReadonlySet<string>;
  /** A Secret's data (plain values) of the demo cluster, or undefined when it has none. */
  kubeSecret?(namespace: string, name: string): Record<string, string> | undefined;
  /** Waits `ms` of demo time (scaled by the lab's speed); rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

type Command = (
  args: string[],
  io: Io,
  state: ShellState,
  host: CommandHost,
) => number | Promise<number>;

/** Runs one shell source text on `host`. Never throws: errors become exit statuses. */
export async function runScript(
  source: string,
  host: CommandHost,
  io: Io,
  state: ShellState,
): Promise<number> {
  const shellHost = shellHostOf(host);
  try {
    const vars = (name: string) => variable(name, host, state);
    return await execute(parse(tokenize(source, vars)), shellHost, io, state);
  } catch (e) {
    if (e instanceof ShellExit) return e.status;
    if (e instanceof ShellSyntaxError) {
      io.stderr(`sh: 1: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

export function newShellState(host: CommandHost): ShellState {
  const home = homeOf(host.user);
  return {
    vars: new Map([
      ['HOME', home],
      ['USER', host.user],
      ['LOGNAME', host.user],
      ['HOSTNAME', host.facts.hostname],
      ['SHELL', '/bin/bash'],
      ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    ]),
    cwd: host.vfs.exists(home) ? home : '/',
    noclobber: false,
    lastStatus: 0,
  };
}

export function homeOf(user: string): string {
  return user === 'root' ? '/root' : `/home/${user}`;
}

function variable(name: string, host: CommandHost, state: ShellState): string {
  if (name === '?') return String(state.lastStatus);
  if (name === '$') return '4242';
  return state.vars.get(name) ?? '';
}

function shellHostOf(host: CommandHost): ShellHost {
  return {
    run: (argv, io, state) => runCommand(argv, io, state, host),
    openOutput(path, append, state) {
      const p = Vfs.normalize(path, state.cwd);
      if (!append && state.noclobber && host.vfs.exists(p))
        return `cannot create ${path}: File exists`;
      try {
        if (!append || !host.vfs.exists(p)) host.vfs.write(p, '');
      } catch (e) {
        return `cannot create ${path}: ${errnoText(e)}`;
      }
      return { write: (d) => host.vfs.append(p, d), close: () => undefined };
    },
    readInput(path, state) {
      try {
        return host.vfs.read(Vfs.normalize(path, state.cwd));
      } catch (e) {
        return `cannot open ${path}: ${errnoText(e)}`;
      }
    },
  };
}

function errnoText(e: unknown): string {
  if (!(e instanceof VfsError)) throw e;
  return {
    ENOENT: 'No such file or directory',
    EEXIST: 'File exists',
    ENOTDIR: 'Not a directory',
    EISDIR: 'Is a directory',
    ENOTEMPTY: 'Directory not empty',
  }[e.code];
}

async function runCommand(
  argv: string[],
  io: Io,
  state: ShellState,
  host: CommandHost,
): Promise<number> {
  const [name0, ...args] = argv;
  const name = posix.basename(name0!);
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.stderr(`sh: 1: ${name0}: not found\n`);
    return 127;
  }
  try {
    return await cmd(args, io, state, host);
  } catch (e) {
    if (e instanceof VfsError) {
      io.stderr(`${name}: ${e.path}: ${errnoText(e)}\n`);
      return 1;
    }
    throw e;
  }
}

/** Splits leading `-abc` flags from operands; `--` ends them. */
function flags(args: string[]): { set: Set<string>; rest: string[] } {
  const set = new Set<string>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    if (a.startsWith('--')) set.add(a);
    else for (const c of a.slice(1)) set.add(c);
  }
  return { set, rest: args.slice(i) };
}

const abs = (p: string, state: ShellState) => Vfs.normalize(p, state.cwd);

function printf(format: string, args: string[]): string {
  const unescape = (s: string) =>
    s.replace(/\\(n|t|\\|0)/g, (_, c: string) => ({ n: '\n', t: '\t', '\\': '\\', '0': '\0' })[c]!);
  let out = '';
  let i = 0;
  do {
    out += unescape(format).replace(/%(%|s|d|b)/g, (_, c: string) => {
      if (c === '%') return '%';
      const v = args[i++] ?? '';
      return c === 'd' ? String(Number(v) || 0) : c === 'b' ? unescape(v) : v;
    });
  } while (i < args.length && /%[sdb]/.test(format));
  return out;
}

function test(args: string[], state: ShellState, host: CommandHost): boolean {
  if (args[0] === '!') return !test(args.slice(1), state, host);
  if (args.length === 0) return false;
  if (args.length === 1) return args[0] !== '';
  if (args.length === 2) {
    const [op, v] = args as [string, string];
    const node = host.vfs.get(abs(v, state));
    switch (op) {
      case '-e':
        return !!node;
      case '-f':
        return node?.kind === 'file';
      case '-d':
        return node?.kind === 'dir';
      case '-s':
        return node?.kind === 'file' && node.size > 0;
      case '-x':
        return !!node && (node.mode & 0o111) !== 0;
      case '-n':
        return v !== '';
      case '-z':
        return v === '';
      default:
        return false;
    }
  }
  const [a, op, b] = args as [string, string, string];
  const n = (s: string) => Number(s);
  switch (op) {
    case '=':
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '-eq':
      return n(a) === n(b);
    case '-ne':
      return n(a) !== n(b);
    case '-lt':
      return n(a) < n(b);
    case '-le':
      return n(a) <= n(b);
    case '-gt':
      return n(a) > n(b);
    case '-ge':
      return n(a) >= n(b);
    default:
      return false;
  }
}

function uptimeText(host: CommandHost): string {
  const now = new Date(host.now());
  const up = Math.floor((host.now() - host.bootedAt) / 60_000) + 17 * 24 * 60 + 203;
  const days = Math.floor(up / 1440);
  const hm = `${Math.floor((up % 1440) / 60)}:${String(up % 60).padStart(2, '0')}`;
  return ` ${now.toISOString().slice(11, 19)} up ${days} days, ${hm},  1 user,  load average: 0.08, 0.03, 0.01\n`;
}

function dfText(host: CommandHost, human: boolean): string {
  const os = host.facts.disks.find((d) => d.use === 'os');
  const size = (os?.bytes ?? 480e9) - 1_074_790_400;
  const used = Math.round(size * 0.09);
  const v = (b: number) => (human ? humanBytes(b) : String(Math.round(b / 1024)));
  const rows = [
    [
      human ? 'Filesystem' : 'Filesystem',
      human ? 'Size' : '1K-blocks',
      'Used',
      human ? 'Avail' : 'Available',
      'Use%',
      'Mounted on',
    ],
    [
      'tmpfs',
      v(host.facts.memoryKiB * 102),
      v(2_500_000),
      v(host.facts.memoryKiB * 102 - 2_500_000),
      '1%',
      '/run',
    ],
    [`${os?.path ?? '/dev/sda'}2`, v(size), v(used), v(size - used), '9%', '/'],
    ['tmpfs', v(host.facts.memoryKiB * 512), '0', v(host.facts.memoryKiB * 512), '0%', '/dev/shm'],
    [
      `${os?.path ?? '/dev/sda'}1`,
      v(1_071_624_192),
      v(6_400_000),
      v(1_065_224_192),
      '1%',
      '/boot/efi',
    ],
  ];
  return (
    rows
      .map((r) =>
        r.map((c, i) => (i === 0 ? c.padEnd(16) : i === 5 ? ` ${c}` : c.padStart(10))).join(''),
      )
      .join('\n') + '\n'
  );
}

function lsblkTable(f: HostFacts): string {
  const rows = ['NAME        MAJ:MIN RM   SIZE RO TYPE MOUNTPOINTS'];
  const doc = JSON.parse(lsblkJson(f, false)) as {
    blockdevices: {
      name: string;
      'maj:min': string;
      size: string;
      children?: { name: string; size: string; mountpoints: string[] }[];
    }[];
  };
  for (const d of doc.blockdevices) {
    rows.push(`${d.name.padEnd(11)} ${d['maj:min'].padEnd(7)}  0 ${d.size.padStart(5)}  0 disk `);
    for (const [i, c] of (d.children ?? []).entries()) {
      const branch = i === d.children!.length - 1 ? '└─' : '├─';
      rows.push(
        `${(branch + c.name).padEnd(11)} ${d['maj:min'].replace(/:(\d+)$/, (_, n: string) => `:${Number(n) + i + 1}`).padEnd(7)}  0 ${c.size.padStart(5)}  0 part ${c.mountpoints.join(',')}`,
      );
    }
  }
  return rows.join('\n') + '\n';
}

function lscpuText(f: HostFacts): string {
  return [
    'Architecture:             x86_64',
    '  CPU op-mode(s):         32-bit, 64-bit',
    'Byte Order:               Little Endian',
    `CPU(s):                   ${f.cpuCount}`,
    `Vendor ID:                ${f.cpuModel.startsWith('AMD') ? 'AuthenticAMD' : 'GenuineIntel'}`,
    `  Model name:             ${f.cpuModel}`,
    `Virtualization:           ${f.cpuModel.startsWith('AMD') ? 'AMD-V' : 'VT-x'}`,
    '',
  ].join('\n');
}

const SERVICES_ALWAYS = ['ssh', 'sshd', 'systemd-journald', 'cron', 'rsyslog'];

function systemctl(args: string[], io: Io, host: CommandHost): number {
  const { rest } = flags(args);
  const [verb, unit0] = rest;
  const unit = (unit0 ?? '').replace(/\.service$/, '');
  const active = SERVICES_ALWAYS.includes(unit) || host.activeServices().has(unit);
  const quiet = args.includes('--quiet') || args.includes('-q');
  switch (verb) {
    case 'is-active':
      if (!quiet) io.stdout(active ? 'active\n' : 'inactive\n');
      return active ? 0 : 3;
    case 'is-enabled':
      if (!quiet) io.stdout(active ? 'enabled\n' : 'disabled\n');
      return active ? 0 : 1;
    case 'status': {
      if (!unit) {
        io.stdout(
          `● ${host.facts.hostname}\n    State: running\n    Units: 243 loaded\n     Jobs: 0 queued\n   Failed: 0 units\n`,
        );
        return 0;
      }
      const since = new Date(active ? host.now() - 3_600_000 : host.bootedAt).toUTCString();
      io.stdout(
        `${active ? '●' : '○'} ${unit}.service\n     Loaded: loaded (/usr/lib/systemd/system/${unit}.service; ${active ? 'enabled' : 'disabled'}; preset: enabled)\n     Active: ${active ? `active (running) since ${since}` : 'inactive (dead)'}\n${active ? `   Main PID: ${1000 + unit.length * 37} (${unit})\n      Tasks: 12 (limit: 154202)\n` : ''}`,
      );
      return active ? 0 : 3;
    }
    default:
      io.stderr(`systemctl: the demo host only answers status, is-active and is-enabled\n`);
      return 1;
  }
}

/** `journalctl -u UNIT [--since @EPOCH]`: a unit's start, as journald would show it. */
function journalctl(args: string[], io: Io, host: CommandHost): number {
  const unit = (args[args.indexOf('-u') + 1] ?? '').replace(/\.service$/, '');
  const sinceArg = args.includes('--since') ? args[args.indexOf('--since') + 1] : undefined;
  const since = sinceArg?.startsWith('@') ? Number(sinceArg.slice(1)) * 1000 : 0;
  const active = SERVICES_ALWAYS.includes(unit) || host.activeServices().has(unit);
  const started = Math.max(host.bootedAt, since);
  if (args.indexOf('-u') < 0 || !active || started > host.now()) {
    io.stdout('-- No entries --\n');
    return 0;
  }
  const at = (ms: number) => new Date(started + ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
  const name = host.facts.hostname;
  io.stdout(
    [
      `${at(0)} ${name} systemd[1]: Starting ${unit}.service...`,
      `${at(180)} ${name} ${unit}[${1000 + unit.length * 37}]: started (demo host: simulated service)`,
      `${at(210)} ${name} systemd[1]: Started ${unit}.service.`,
    ]
      .map((l) => `${l}\n`)
      .join(''),
  );
  return 0;
}

function kubectl(args: string[], io: Io, host: CommandHost): number {
  const nodes = host.clusterNodes();
  if (!nodes) {
    io.stderr(
      `E0101 00:00:00.000000    4242 memcache.go:265] couldn't get current server API group list: Get "http://localhost:8080/api?timeout=32s": dial tcp 127.0.0.1:8080: connect: connection refused\nThe connection to the server localhost:8080 was refused - did you specify the right host or port?\n`,
    );
    return 1;
  }
  const [verb, what] = args.filter((a) => !a.startsWith('-'));
  if (verb === 'version') {
    io.stdout(
      `Client Version: ${nodes[0]?.version ?? 'v1.31.4'}\nServer Version: ${nodes[0]?.version ?? 'v1.31.4'}\n`,
    );
    return 0;
  }
  if (verb === 'get' && (what === 'nodes' || what === 'node' || what === 'no')) {
    const wide = args.includes('-o') && args.includes('wide');
    const w = Math.max(4, ...nodes.map((n) => n.name.length)) + 3;
    io.stdout(
      `${'NAME'.padEnd(w)}${'STATUS'.padEnd(10)}${'ROLES'.padEnd(15)}AGE   VERSION${wide ? '    INTERNAL-IP' : ''}\n` +
        nodes
          .map(
            (n) =>
              `${n.name.padEnd(w)}${(n.ready ? 'Ready' : 'NotReady').padEnd(10)}${n.roles.padEnd(15)}${'12m'.padEnd(6)}${n.version}${wide ? `    ${n.ip}` : ''}`,
          )
          .join('\n') +
        '\n',
    );
    return 0;
  }
  if (verb === 'get' && (what === 'secret' || what === 'secrets'))
    return kubectlSecret(args, io, host);
  io.stderr(`error: the demo cluster answers "kubectl get nodes", "get secret" and "version"\n`);
  return 1;
}

function grep(args: string[], io: Io, state: ShellState, host: CommandHost, input: Buffer): number {
  const { set, rest } = flags(args);
  const [pattern, ...files] = rest;
  if (pattern === undefined) {
    io.stderr('Usage: grep [OPTION]... PATTERNS [FILE]...\n');
    return 2;
  }
  const re = set.has('F')
    ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), set.has('i') ? 'i' : '')
    : new RegExp(
        set.has('E') ? pattern : pattern.replace(/\\([|(){}+?])/g, '$1'),
        set.has('i') ? 'i' : '',
      );
  const sources: { name: string; text: string }[] = [];
  if (!files.length) sources.push({ name: '(standard input)', text: input.toString('utf8') });
  for (const f of files) {
    try {
      sources.push({ name: f, text: host.vfs.readText(abs(f, state)) });
    } catch {
      if (!set.has('s')) io.stderr(`grep: ${f}: No such file or directory\n`);
      return 2;
    }
  }
  let count = 0;
  for (const s of sources) {
    const lines = s.text.split('\n');
    if (s.text.endsWith('\n')) lines.pop();
    for (const line of lines) {
      if (re.test(line) !== set.has('v')) {
        count++;
        if (!set.has('q') && !set.has('c'))
          io.stdout(`${files.length > 1 ? `${s.name}:` : ''}${line}\n`);
      }
    }
  }
  if (set.has('c')) io.stdout(`${count}\n`);
  return count > 0 ? 0 : 1;
}

/**
 * `kubectl get secret NAME --namespace=NS --output=json`: the Secret as the API returns it,
 * values base64-encoded under `data` (what the install summary reads, src/app/handover.ts).
 */
function kubectlSecret(args: string[], io: Io, host: CommandHost): number {
  const positional = args.filter((a) => !a.startsWith('-'));
  const name = positional[2];
  const nsFlag = args.find((a) => a.startsWith('--namespace='));
  const nsAt = args.findIndex((a) => a === '-n' || a === '--namespace');
  const namespace =
    nsFlag?.slice('--namespace='.length) ?? (nsAt >= 0 ? args[nsAt + 1] : 'default');
  const values = name && namespace ? host.kubeSecret?.(namespace, name) : undefined;
  if (!name || !namespace || !values) {
    io.stderr(`Error from server (NotFound): secrets "${name ?? ''}" not found\n`);
    return 1;
  }
  const data = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
  io.stdout(
    `${JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data }, null, 4)}\n`,
  );
  return 0;
}

const COMMANDS: Record<string, Command> = {
  true: () => 0,
  ':': () => 0,
  false: () => 1,
  exit: (args, _io, state) => {
    throw new ShellExit(args[0] === undefined ? state.lastStatus : Number(args[0]) & 255);
  },
  set: (args, _io, state) => {
    for (const a of args) {
      if (/^-[a-zA-Z]*C/.test(a)) state.noclobber = true;
      if (/^\+[a-zA-Z]*C/.test(a)) state.noclobber = false;
    }
    return 0;
  },
  export: (args, _io, state) => {
    for (const a of args) {
      const at = a.indexOf('=');
      if (at > 0) state.vars.set(a.slice(0, at), a.slice(at + 1));
    }
    return 0;
  },
  unset: (args, _io, state) => {
    for (const a of args) state.vars.delete(a);
    return 0;
  },
  echo: (args, io) => {
    const noNewline = args[0] === '-n';
    io.stdout(`${(noNewline ? args.slice(1) : args).join(' ')}${noNewline ? '' : '\n'}`);
    return 0;
  },
  printf: (args, io) => {
    if (!args.length) {
      io.stderr('printf: usage: printf format [arguments]\n');
      return 2;
    }
    io.stdout(printf(args[0]!, args.slice(1)));
    return 0;
  },
  cat: async (args, io, state, host) => {
    const { rest } = flags(args);
    if (!rest.length || rest.includes('-')) io.stdout(await io.stdin());
    let status = 0;
    for (const f of rest.filter((r) => r !== '-')) {
      try {
        io.stdout(host.vfs.read(abs(f, state)));
      } catch (e) {
        io.stderr(`cat: ${f}: ${errnoText(e)}\n`);
        status = 1;
      }
    }
    return status;
  },
  cd: (args, io, state, host) => {
    const to = abs(args[0] ?? homeOf(host.user), state);
    if (host.vfs.get(to)?.kind !== 'dir') {
      io.stderr(`sh: 1: cd: can't cd to ${args[0]}\n`);
      return 2;
    }
    state.cwd = to;
    return 0;
  },
  pwd: (_args, io, state) => {
    io.stdout(`${state.cwd}\n`);
    return 0;
  },
  hostname: (args, io, _state, host) => {
    const f = host.facts;
    if (args.includes('-f') || args.includes('--fqdn')) io.stdout(`${f.fqdn}\n`);
    else if (args.includes('-I') || args.includes('-i'))
      io.stdout(`${f.nics.flatMap((n) => (n.address ? [n.address] : [])).join(' ')} \n`);
    else io.stdout(`${f.hostname}\n`);
    return 0;
  },
  uname: (args, io, _state, host) => {
    const f = host.facts;
    const { set } = flags(args);
    if (set.has('a')) io.stdout(`${unameA(f)}\n`);
    else if (set.has('r')) io.stdout(`${f.os.kernel}\n`);
    else if (set.has('n')) io.stdout(`${f.hostname}\n`);
    else if (set.has('m')) io.stdout('x86_64\n');
    else io.stdout('Linux\n');
    return 0;
  },
  nproc: (_args, io, _state, host) => {
    io.stdout(`${host.facts.cpuCount}\n`);
    return 0;
  },
  free: (args, io, _state, host) => {
    io.stdout(freeText(host.facts, flags(args).set.has('h')));
    return 0;
  },
  lsblk: (args, io, _state, host) => {
    const { set } = flags(args);
    io.stdout(
      set.has('J') || set.has('--json')
        ? lsblkJson(host.facts, set.has('b'))
        : lsblkTable(host.facts),
    );
    return 0;
  },
  ip: (args, io, _state, host) => {
    const json = args.includes('-j') || args.includes('-json');
    const [obj] = args.filter((a) => !a.startsWith('-'));
    const what =
      obj === undefined || 'address'.startsWith(obj)
        ? 'addr'
        : 'link'.startsWith(obj)
          ? 'link'
          : obj === 'r' || obj === 'route'
            ? 'route'
            : undefined;
    if (what === 'route') {
      const mgmt = host.facts.nics[0];
      io.stdout(
        `default via ${mgmt?.address?.replace(/\.\d+$/, '.1') ?? '10.0.0.1'} dev ${mgmt?.name ?? 'eth0'} proto static\n`,
      );
      return 0;
    }
    if (!what) {
      io.stderr(`Object "${obj}" is unknown, try "ip help".\n`);
      return 255;
    }
    io.stdout(json ? ipJson(host.facts, what) : ipText(host.facts));
    return 0;
  },
  lscpu: (_args, io, _state, host) => {
    io.stdout(lscpuText(host.facts));
    return 0;
  },
  uptime: (_args, io, _state, host) => {
    io.stdout(uptimeText(host));
    return 0;
  },
  whoami: (_args, io, _state, host) => {
    io.stdout(`${host.user}\n`);
    return 0;
  },
  id: (_args, io, _state, host) => {
    io.stdout(
      host.user === 'root'
        ? 'uid=0(root) gid=0(root) groups=0(root)\n'
        : `uid=1000(${host.user}) gid=1000(${host.user}) groups=1000(${host.user}),27(sudo)\n`,
    );
    return 0;
  },
  date: (args, io, _state, host) => {
    const now = host.now();
    if (args[0] === '+%s') io.stdout(`${Math.floor(now / 1000)}\n`);
    else if (args[0] === '+%s%3N') io.stdout(`${now}\n`);
    else io.stdout(`${new Date(now).toUTCString()}\n`);
    return 0;
  },
  df: (args, io, _state, host) => {
    io.stdout(dfText(host, flags(args).set.has('h')));
    return 0;
  },
  mkdir: (args, io, state, host) => {
    const { set, rest } = flags(args.filter((a, i) => a !== '-m' && args[i - 1] !== '-m'));
    for (const d of rest) {
      if (set.has('p')) host.vfs.mkdirp(abs(d, state));
      else
        try {
          host.vfs.mkdir(abs(d, state));
        } catch (e) {
          io.stderr(`mkdir: cannot create directory '${d}': ${errnoText(e)}\n`);
          return 1;
        }
    }
    return 0;
  },
  rm: (args, io, state, host) => {
    const { set, rest } = flags(args);
    let status = 0;
    for (const f of rest) {
      const p = abs(f, state);
      if (!host.vfs.exists(p)) {
        if (!set.has('f')) {
          io.stderr(`rm: cannot remove '${f}': No such file or directory\n`);
          status = 1;
        }
        continue;
      }
      host.vfs.remove(p, set.has('r') || set.has('R'));
    }
    return status;
  },
  mv: (args, io, state, host) => {
    const { rest } = flags(args);
    const [from, to] = rest;
    if (!from || !to) {
      io.stderr('mv: missing file operand\n');
      return 1;
    }
    const target =
      host.vfs.get(abs(to, state))?.kind === 'dir'
        ? posix.join(abs(to, state), posix.basename(from))
        : abs(to, state);
    try {
      host.vfs.rename(abs(from, state), target);
    } catch (e) {
      io.stderr(`mv: cannot move '${from}' to '${to}': ${errnoText(e)}\n`);
      return 1;
    }
    return 0;
  },
  cp: (args, io, state, host) => {
    const { rest } = flags(args);
    const [from, to] = rest;
    if (!from || !to) {
      io.stderr('cp: missing file operand\n');
      return 1;
    }
    host.vfs.write(abs(to, state), host.vfs.read(abs(from, state)));
    return 0;
  },
  touch: (args, _io, state, host) => {
    for (const f of flags(args).rest)
      if (!host.vfs.exists(abs(f, state))) host.vfs.write(abs(f, state), '');
    return 0;
  },
  chown: (args, _io, state, host) =>
    eachNode(args, state, host, (owner, n) => {
      n.owner = owner.includes(':') ? owner : `${owner}:${owner}`;
    }),
  chmod: (args, _io, state, host) =>
    eachNode(args, state, host, (mode, n) => {
      if (/^[0-7]+$/.test(mode)) n.mode = parseInt(mode, 8);
      else if (mode === '+x') n.mode |= 0o111;
    }),
  ls: (args, io, state, host) => {
    const { set, rest } = flags(args);
    const paths = rest.length ? rest : ['.'];
    for (const p of paths) {
      const node = host.vfs.get(abs(p, state));
      if (!node) {
        io.stderr(`ls: cannot access '${p}': No such file or directory\n`);
        return 2;
      }
      const names =
        node.kind === 'dir'
          ? host.vfs.list(abs(p, state)).filter((n) => set.has('a') || !n.startsWith('.'))
          : [p];
      if (!set.has('l')) io.stdout(names.length ? `${names.join('  ')}\n` : '');
      else
        for (const n of names) {
          const child = node.kind === 'dir' ? host.vfs.get(posix.join(abs(p, state), n))! : node;
          const size = child.kind === 'file' ? child.size : 4096;
          io.stdout(
            `${child.kind === 'dir' ? 'd' : '-'}${modeText(child.mode)} 1 ${child.owner.replace(':', ' ')} ${String(size).padStart(8)} ${new Date(child.mtime || host.bootedAt).toDateString().slice(4)} ${n}\n`,
          );
        }
    }
    return 0;
  },
  test: (args, _io, state, host) => (test(args, state, host) ? 0 : 1),
  '[': (args, io, state, host) => {
    if (args.at(-1) !== ']') {
      io.stderr('[: missing ]\n');
      return 2;
    }
    return test(args.slice(0, -1), state, host) ? 0 : 1;
  },
  sha256sum: async (args, io, state, host) => {
    const { rest } = flags(args);
    if (!rest.length) {
      io.stdout(
        `${createHash('sha256')
          .update(await io.stdin())
          .digest('hex')}  -\n`,
      );
      return 0;
    }
    let status = 0;
    for (const f of rest) {
      try {
        io.stdout(
          `${createHash('sha256')
            .update(host.vfs.read(abs(f, state)))
            .digest('hex')}  ${f}\n`,
        );
      } catch (e) {
        io.stderr(`sha256sum: ${f}: ${errnoText(e)}\n`);
        status = 1;
      }
    }
    return status;
  },
  base64: async (args, io, state, host) => {
    const { rest } = flags(args);
    let data: Uint8Array;
    try {
      data = rest[0] === undefined ? await io.stdin() : host.vfs.read(abs(rest[0], state));
    } catch (e) {
      io.stderr(`base64: ${rest[0]}: ${errnoText(e)}\n`);
      return 1;
    }
    const text = Buffer.from(data).toString('base64');
    // -w0 (what the engine asks for) writes one line without a newline.
    io.stdout(args.includes('-w0') ? text : `${text.replace(/.{76}/g, '$&\n')}\n`);
    return 0;
  },
  grep: async (args, io, state, host) => {
    const needsStdin = flags(args).rest.length < 2;
    return grep(args, io, state, host, needsStdin ? await io.stdin() : Buffer.alloc(0));
  },
  head: async (args, io) => {
    const n = Number(args[args.indexOf('-n') + 1] ?? 10) || 10;
    io.stdout((await io.stdin()).toString('utf8').split('\n').slice(0, n).join('\n') + '\n');
    return 0;
  },
  wc: async (args, io) => {
    const text = (await io.stdin()).toString('utf8');
    io.stdout(args.includes('-l') ? `${text.split('\n').length - 1}\n` : `${text.length}\n`);
    return 0;
  },
  env: (_args, io, state) => {
    io.stdout([...state.vars].map(([k, v]) => `${k}=${v}\n`).join(''));
    return 0;
  },
  which: (args, io) => {
    const known = args.filter((a) => COMMANDS[a]);
    io.stdout(known.map((a) => `/usr/bin/${a}\n`).join(''));
    return known.length === args.length ? 0 : 1;
  },
  sleep: async (args, io, _state, host) => {
    await host.sleep(Number(args[0] ?? 0) * 1000, io.signal).catch(() => undefined);
    return io.signal.aborted ? 143 : 0;
  },
  kill: (args, io, _state, host) => {
    const { rest } = flags(args.filter((a) => !/^-[A-Z]+$/.test(a) && a !== '-0'));
    const probe = args.includes('-0');
    let status = 0;
    for (const p of rest) {
      const pid = Math.abs(Number(p));
      const ok = probe ? host.processAlive(pid) : host.killProcess(pid);
      if (!ok) {
        if (!probe) io.stderr(`sh: 1: kill: No such process\n`);
        status = 1;
      }
    }
    return status;
  },
  command: (args, io, state, host) => {
    if (args[0] !== '-v') return args.length ? runCommand(args, io, state, host) : 0;
    return COMMANDS.which!(args.slice(1), io, state, host);
  },
  exec: (args, io, state, host) => (args.length ? runCommand(args, io, state, host) : 0),
  tail: async (args, io) => {
    const n = Number(args[args.indexOf('-n') + 1] ?? 10) || 10;
    const lines = (await io.stdin()).toString('utf8').replace(/\n$/, '').split('\n');
    io.stdout(`${lines.slice(-n).join('\n')}\n`);
    return 0;
  },
  find: (args, io, state, host) => {
    const [dir = '.'] = args;
    const root = abs(dir, state);
    if (!host.vfs.exists(root)) throw new VfsError('ENOENT', dir);
    const walk = (p: string): string[] =>
      host.vfs.get(p)?.kind === 'dir'
        ? host.vfs.list(p).flatMap((c) => walk(posix.join(p, c)))
        : [p];
    const files = args.includes('-type') ? walk(root).filter((f) => f !== root) : walk(root);
    io.stdout(files.map((f) => `${f}\n`).join(''));
    return 0;
  },
  journalctl: (args, io, _state, host) => journalctl(args, io, host),
  dmesg: (args, io, _state, host) => {
    const iso = args.includes('--time-format');
    const at = (s: number) =>
      iso
        ? new Date(host.bootedAt + s * 1000).toISOString().replace(/\.(\d{3})Z$/, ',$1000+00:00')
        : `[${s.toFixed(6).padStart(12)}]`;
    const f = host.facts;
    const lines = [
      [0, `Linux version ${f.os.kernel} (${unameA(f).split(' #')[1]})`],
      [
        0.01,
        `Command line: BOOT_IMAGE=/vmlinuz-${f.os.kernel} root=/dev/${f.disks[0]?.name ?? 'sda'}2 ro quiet`,
      ],
      [0.2, `smpboot: Allowing ${f.cpuCount} CPUs, 0 hotplug CPUs`],
      [0.4, `Memory: ${f.memoryKiB}K available`],
      ...f.nics.map((n, i): [number, string] => [
        2.1 + i / 10,
        `${n.name}: Link is Up - ${n.speedGbps}Gbps/Full - flow control off`,
      ]),
      [4.8, 'systemd[1]: Reached target multi-user.target - Multi-User System.'],
    ] as const;
    io.stdout(lines.map(([s, text]) => `${at(s)} ${text}\n`).join(''));
    return 0;
  },
  systemctl: (args, io, _state, host) => systemctl(args, io, host),
  kubectl: (args, io, _state, host) => kubectl(args, io, host),
  sudo: (args, io, state, host) => {
    let i = 0;
    while (i < args.length && args[i]!.startsWith('-'))
      i += args[i] === '-p' || args[i] === '-u' ? 2 : 1;
    const rest = args.slice(i);
    if (!rest.length) {
      io.stderr('usage: sudo command\n');
      return 1;
    }
    return runCommand(rest, io, state, host);
  },
  sh: (args, io, state, host) => shellC(args, io, state, host),
  bash: (args, io, state, host) => shellC(args, io, state, host),
};

function shellC(
  args: string[],
  io: Io,
  state: ShellState,
  host: CommandHost,
): Promise<number> | number {
  if (args[0] !== '-c' || args[1] === undefined) {
    io.stderr(
      `sh: the demo host runs only "sh -c COMMAND"; the runbook's scripts are simulated as whole steps\n`,
    );
    return 127;
  }
  return runScript(args[1], host, io, { ...state, vars: new Map(state.vars) });
}

/** `chown OWNER FILE…` and `chmod MODE FILE…`: applies the first operand to every file's node. */
function eachNode(
  args: string[],
  state: ShellState,
  host: CommandHost,
  apply: (value: string, node: VfsNode) => void,
): number {
  const [value = '', ...files] = flags(args).rest;
  for (const f of files) {
    const n = host.vfs.get(abs(f, state));
    if (!n) throw new VfsError('ENOENT', f);
    apply(value, n);
  }
  return 0;
}

function modeText(mode: number): string {
  return [6, 3, 0]
    .map((s) => ['r', 'w', 'x'].map((c, i) => ((mode >> s) & (4 >> i) ? c : '-')).join(''))
    .join('');
}

/** Whether `name` is a command the demo shell knows (for the prompt's tab-less help). */
export function knownCommands(): string[] {
  return Object.keys(COMMANDS)
    .filter((c) => /^[a-z]/.test(c))
    .sort();
}

/** The os-release file every demo host starts with. */
export { osReleaseText };
