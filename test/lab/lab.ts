/**
 * The test lab: real OpenSSH servers on this machine, one per host, each in its own
 * network namespace (air-gapped: a lab bridge, no default route), its own hostname (UTS
 * namespace) and its own writable root (an overlay of the machine's `/`). Optionally a
 * jump host that is the only host the machine can reach. How and why: docs/test-lab.md.
 *
 * ```ts
 * const lab = await createLab({ hosts: 3, jump: true });
 * try { ... lab.target(0) ... } finally { await lab.dispose(); }
 * ```
 */
import { randomBytes } from 'node:crypto';
import { openSync, closeSync, watch, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import ssh2 from 'ssh2';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { planToYaml } from '../../src/plan/save.js';
import type { Role } from '../../src/plan/schema.js';
import type { HostTarget } from '../../src/ssh/transport.js';
import { labPlan, labRole } from './plan.js';
import { mustRun, runCommand, type RunResult } from './run.js';

/** Every namespace and link of every lab starts with this, then four hex digits. */
export const LAB_PREFIX = 'ulab';
const PREFIX_RE = new RegExp(`^${LAB_PREFIX}[0-9a-f]{4}`);
/** Where running labs register, so a later lab can sweep one whose owner crashed. */
const REGISTRY = '/run/ustart-lab';
const SSHD_READY = 'Server listening on';
const READY_TIMEOUT_MS = 15_000;

export interface LabOptions {
  /** Number of target hosts (the jump host comes on top). */
  hosts: number;
  /** Add a jump host; the targets are then reachable only from it. */
  jump?: boolean;
  /** Lab folder; a fresh temp folder when absent. Removed by dispose. */
  dir?: string;
  /** Keep the lab after this process exits (the CLI); tests leave it false so a crash is swept. */
  persistent?: boolean;
  /**
   * MTU of the lab's links (bridges, veths and each host's `eth0`/`eth1`), as a datacenter
   * switch with jumbo frames would have it. Default: the kernel's (1500).
   */
  mtu?: number;
  /**
   * Give each host a second link `eth1` on a bridge of its own, without an address: a port
   * for a storage network the host-network step configures. Not with a jump host.
   */
  secondLink?: boolean;
}

export interface LabHost {
  index: number;
  /** The plan's host name and the host's own hostname. */
  name: string;
  address: string;
  port: number;
  role: Role;
  /** Network namespace name (`ip netns exec NAME ...`). */
  netns: string;
  /** PID of the host's sshd (also the handle for nsenter). */
  pid: number;
  /** Link whose state `cutLink` flips: `[netns, name]`, netns empty for the root namespace. */
  link: [string, string];
  /** The host's public key line (`ssh-ed25519 AAAA...`). */
  publicKey: string;
}

/** What a lab made, so `down` can undo it after a crash too. */
export interface LabState {
  id: string;
  prefix: string;
  dir: string;
  owner: number;
  netns: string[];
  links: string[];
  hosts: LabHost[];
  jump?: LabHost;
}

export interface Lab {
  readonly id: string;
  readonly dir: string;
  readonly hosts: readonly LabHost[];
  readonly jump?: LabHost;
  /** ed25519 client key without passphrase, authorised for root and the test user on every host. */
  readonly clientKeyPath: string;
  /** ed25519 client key protected by `clientKeyPassphrase`, authorised like the other. */
  readonly encryptedKeyPath: string;
  readonly clientKeyPassphrase: string;
  /** OpenSSH known_hosts with every lab host's key (the jump host's too). */
  readonly knownHostsPath: string;
  /** Site plan pointing at the lab hosts (YAML). */
  readonly planPath: string;
  /** Login user in the plan (root). */
  readonly user: string;
  /** A user with a password, allowed to sudo with that password. Never written into the plan. */
  readonly testUser: { name: string; password: string };
  /** The transport's target for host `i`: its address, the plan's user, the jump host when there is one. */
  target(i: number, user?: string): HostTarget;
  /**
   * Adds login user `name` on host `i`, who logs in with the lab's client keys (like every
   * user) and has no password: `sudo: 'nopasswd'` lets it sudo without one (a cloud image's
   * admin user), `'none'` gives it no sudo rights. The test user is the one with a password.
   */
  addUser(i: number, name: string, sudo: 'nopasswd' | 'none'): Promise<void>;
  /** Runs `command` with /bin/sh inside host `i` (its namespaces and root), as root. */
  exec(i: number | LabHost, command: string): Promise<RunResult>;
  /** Takes host `i`'s link down: its TCP connections stall until keepalive gives up. */
  cutLink(i: number): Promise<void>;
  restoreLink(i: number): Promise<void>;
  /** Gives host `i` (or the jump host, `'jump'`) a new host key and restarts its sshd. Returns the new public key line. */
  regenerateHostKey(i: number | 'jump'): Promise<string>;
  /** Removes every namespace, link, process and mount of the lab. Idempotent. */
  dispose(): Promise<void>;
}

/** Builds a lab and waits until every sshd listens. On failure, removes what it made. */
export async function createLab(options: LabOptions): Promise<Lab> {
  if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > 200) {
    throw new Error(`lab: hosts must be 1–200, got ${options.hosts}`);
  }
  await sweepStaleLabs();
  const id = randomBytes(2).toString('hex');
  const prefix = `${LAB_PREFIX}${id}`;
  const dir = options.dir
    ? resolve(options.dir)
    : await mkdtemp(join(tmpdir(), `ustart-lab-${id}-`));
  await mkdir(dir, { recursive: true });
  const state: LabState = {
    id,
    prefix,
    dir,
    owner: options.persistent ? 0 : process.pid,
    netns: [],
    links: [],
    hosts: [],
  };
  await saveState(state);
  try {
    return await build(state, options);
  } catch (e) {
    await destroyLab(state);
    throw e;
  }
}

async function build(state: LabState, options: LabOptions): Promise<Lab> {
  const { dir, prefix, id } = state;
  const [outer, inner] = await pickSubnets(options.jump ? 2 : 1);
  const hostNet = options.jump ? inner! : outer!;

  const clientKeyPath = join(dir, 'id_ed25519');
  const encryptedKeyPath = join(dir, 'id_ed25519_encrypted');
  const clientKeyPassphrase = randomBytes(12).toString('base64url');
  const testUser = { name: 'labuser', password: randomBytes(12).toString('base64url') };
  await writeFile(join(dir, 'test-user-password'), `${testUser.password}\n`, { mode: 0o600 });
  await keygen(clientKeyPath, '');
  await keygen(encryptedKeyPath, clientKeyPassphrase);
  const authorized =
    (await readFile(`${clientKeyPath}.pub`, 'utf8')) +
    (await readFile(`${encryptedKeyPath}.pub`, 'utf8'));

  // Without these the machine's default route would send packets for a lab subnet out to
  // the real network whenever the lab path is down (a cut link, the targets behind a jump
  // host): an unreachable route keeps every lab packet on this machine. The metric carries
  // the lab id, so a sweep finds the routes of a lab whose state is lost.
  for (const net of [outer!, ...(inner ? [inner] : [])]) {
    await mustRun('ip', ['route', 'add', ...unreachableRoute(net.base, id)]);
  }
  const bridge = `${prefix}br`;
  state.links.push(bridge);
  await saveState(state);
  await mustRun('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await mustRun('ip', ['addr', 'add', `${outer!.base}.1/24`, 'dev', bridge]);
  await mustRun('ip', ['link', 'set', bridge, 'up']);
  if (options.secondLink && options.jump) {
    throw new Error('lab: secondLink is not available with a jump host');
  }
  const secondBridge = options.secondLink ? `${prefix}b2` : undefined;
  if (secondBridge) {
    state.links.push(secondBridge);
    await saveState(state);
    await mustRun('ip', ['link', 'add', secondBridge, 'type', 'bridge']);
    await mustRun('ip', ['link', 'set', secondBridge, 'up']);
  }
  // A bridge takes the smallest MTU of its ports; set here so it does not depend on them.
  const mtu = options.mtu;
  for (const b of [bridge, ...(secondBridge ? [secondBridge] : [])]) {
    if (mtu !== undefined) await mustRun('ip', ['link', 'set', b, 'mtu', String(mtu)]);
  }

  const starter = { dir, prefix, authorized, testUser };
  let jump: LabHost | undefined;
  if (options.jump) {
    const netns = `${prefix}-j`;
    const veth = `${prefix}j`;
    state.netns.push(netns);
    state.links.push(veth);
    await saveState(state);
    await mustRun('ip', ['netns', 'add', netns]);
    await plugIn({ netns, veth, bridge, bridgeNs: '', address: `${outer!.base}.2` });
    // The inner bridge lives inside the jump host: the machine has no address on it and no
    // route to it, so targets are reachable from the jump host only.
    await mustRun('ip', ['-n', netns, 'link', 'add', 'br0', 'type', 'bridge']);
    await mustRun('ip', ['-n', netns, 'addr', 'add', `${inner!.base}.1/24`, 'dev', 'br0']);
    await mustRun('ip', ['-n', netns, 'link', 'set', 'br0', 'up']);
    jump = await startHost(starter, {
      index: -1,
      name: `jump-${id}`,
      address: `${outer!.base}.2`,
      port: 22,
      role: 'controller',
      netns,
      pid: 0,
      link: ['', veth],
      publicKey: '',
    });
    state.jump = jump;
  }

  const hosts: LabHost[] = [];
  const specs = Array.from({ length: options.hosts }, (_, i) => i);
  // Hosts start a few at a time: each runs useradd and an sshd, and two cores is all we have.
  for (let start = 0; start < specs.length; start += 8) {
    const batch = specs.slice(start, start + 8);
    const made = await Promise.all(
      batch.map(async (i) => {
        const role = labRole(i, options.hosts);
        const netns = `${prefix}-h${i}`;
        const veth = jump ? `v${i}` : `${prefix}h${i}`;
        state.netns.push(netns);
        if (!jump) state.links.push(veth);
        await saveState(state);
        await mustRun('ip', ['netns', 'add', netns]);
        const address = `${hostNet.base}.${10 + i}`;
        await plugIn({
          netns,
          veth,
          bridge: jump ? 'br0' : bridge,
          bridgeNs: jump ? jump.netns : '',
          address,
          ...(mtu !== undefined ? { mtu } : {}),
        });
        if (secondBridge) {
          const second = `${prefix}s${i}`;
          state.links.push(second);
          await saveState(state);
          await plugIn({
            netns,
            veth: second,
            bridge: secondBridge,
            bridgeNs: '',
            peer: 'eth1',
            ...(mtu !== undefined ? { mtu } : {}),
          });
        }
        return startHost(starter, {
          index: i,
          name: `${role === 'controller' ? 'ctl' : role === 'compute' ? 'cmp' : 'sto'}-${String(i + 1).padStart(2, '0')}`,
          address,
          port: 22,
          role,
          netns,
          pid: 0,
          link: [jump ? jump.netns : '', veth],
          publicKey: '',
        });
      }),
    );
    hosts.push(...made);
  }
  state.hosts = hosts;
  await saveState(state);

  const knownHostsPath = join(dir, 'known_hosts');
  await writeFile(
    knownHostsPath,
    [...(jump ? [jump] : []), ...hosts].map((h) => `${h.address} ${h.publicKey}\n`).join(''),
  );
  const planPath = join(dir, 'plan.yaml');
  const plan = labPlan({
    id,
    subnet: `${hostNet.base}.0/24`,
    hosts: hosts.map((h) => ({ hostname: h.name, address: h.address, port: h.port, role: h.role })),
    user: 'root',
    ...(jump ? { jump: { address: jump.address, port: jump.port } } : {}),
  });
  await writeFile(planPath, planToYaml(plan));

  return new RunningLab(state, {
    clientKeyPath,
    encryptedKeyPath,
    clientKeyPassphrase,
    knownHostsPath,
    planPath,
    testUser,
  });
}

class RunningLab implements Lab {
  readonly id: string;
  readonly dir: string;
  readonly hosts: readonly LabHost[];
  readonly jump?: LabHost;
  readonly user = 'root';
  readonly clientKeyPath: string;
  readonly encryptedKeyPath: string;
  readonly clientKeyPassphrase: string;
  readonly knownHostsPath: string;
  readonly planPath: string;
  readonly testUser: { name: string; password: string };
  private disposed?: Promise<void>;

  constructor(
    private readonly state: LabState,
    files: Pick<
      Lab,
      | 'clientKeyPath'
      | 'encryptedKeyPath'
      | 'clientKeyPassphrase'
      | 'knownHostsPath'
      | 'planPath'
      | 'testUser'
    >,
  ) {
    this.id = state.id;
    this.dir = state.dir;
    this.hosts = state.hosts;
    if (state.jump) this.jump = state.jump;
    this.clientKeyPath = files.clientKeyPath;
    this.encryptedKeyPath = files.encryptedKeyPath;
    this.clientKeyPassphrase = files.clientKeyPassphrase;
    this.knownHostsPath = files.knownHostsPath;
    this.planPath = files.planPath;
    this.testUser = files.testUser;
  }

  target(i: number, user = this.user): HostTarget {
    const h = this.host(i);
    const j = this.jump;
    return {
      name: h.name,
      address: h.address,
      port: h.port,
      user,
      ...(j ? { jump: { name: j.name, address: j.address, port: j.port, user: this.user } } : {}),
    };
  }

  async addUser(i: number, name: string, sudo: 'nopasswd' | 'none'): Promise<void> {
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) throw new Error(`lab: bad user name ${name}`);
    // A '*' password: no password login, and sshd (without PAM) does not count the account
    // as locked, as it does useradd's '!' (docs/upstream-facts.md#openssh.locked-account-nopam).
    const rule =
      sudo === 'nopasswd'
        ? `printf '%s ALL=(ALL:ALL) NOPASSWD: ALL\\n' ${name} > /etc/sudoers.d/lab-${name} && chmod 440 /etc/sudoers.d/lab-${name}`
        : `rm -f /etc/sudoers.d/lab-${name}`;
    const res = await this.exec(
      i,
      `set -e; id -u ${name} >/dev/null 2>&1 || useradd -m -s /bin/bash ${name}; usermod -p '*' ${name}; ${rule}`,
    );
    if (res.code !== 0) throw new Error(`lab: could not add user ${name}: ${res.stderr}`);
  }

  exec(i: number | LabHost, command: string): Promise<RunResult> {
    const h = typeof i === 'number' ? this.host(i) : i;
    return runCommand('nsenter', [
      '-t',
      String(h.pid),
      '-m',
      '-u',
      '-n',
      '-r',
      '-w',
      '/bin/sh',
      '-c',
      command,
    ]);
  }

  async cutLink(i: number): Promise<void> {
    await setLink(this.host(i).link, 'down');
  }

  async restoreLink(i: number): Promise<void> {
    await setLink(this.host(i).link, 'up');
  }

  async regenerateHostKey(i: number | 'jump'): Promise<string> {
    const h = i === 'jump' ? this.jump : this.host(i);
    if (!h) throw new Error('lab: this lab has no jump host');
    const hostDir = join(this.dir, 'hosts', h.netns);
    const key = join(hostDir, 'ssh_host_ed25519_key');
    await rm(key, { force: true });
    await rm(`${key}.pub`, { force: true });
    await keygen(key, '');
    // Written through the host's own root, so it lands in its overlay like any change on a real host.
    const inHost = `/proc/${h.pid}/root/etc/ssh/lab/ssh_host_ed25519_key`;
    await writeFile(inHost, await readFile(key), { mode: 0o600 });
    const log = join(hostDir, 'sshd.log');
    const before = countOf(await readFile(log, 'utf8'), SSHD_READY);
    // SIGHUP makes sshd re-exec itself (same PID) and load its host keys again.
    process.kill(h.pid, 'SIGHUP');
    await waitForLog(log, before + 1);
    h.publicKey = (await readFile(`${key}.pub`, 'utf8')).trim();
    return h.publicKey;
  }

  dispose(): Promise<void> {
    this.disposed ??= destroyLab(this.state);
    return this.disposed;
  }

  private host(i: number): LabHost {
    const h = this.hosts[i];
    if (!h) throw new Error(`lab: no host ${i} (the lab has ${this.hosts.length})`);
    return h;
  }
}

interface Starter {
  dir: string;
  prefix: string;
  authorized: string;
  testUser: { name: string; password: string };
}

/**
 * Runs in the host's network namespace, in new mount and UTS namespaces. The overlay's
 * upper layer is a tmpfs mounted in the private mount namespace: it is not part of `/`
 * (the lower layer), so the host never sees its own writes twice, and every mount vanishes
 * with the namespace when the last process of the host dies, crash or not.
 */
const HOST_SCRIPT = `set -eu
name=$1 mnt=$2 cfg=$3 user=$4 tag=$5
hostname "$name"
mount -t tmpfs -o mode=0755 "$tag" "$mnt"
mkdir "$mnt/upper" "$mnt/work" "$mnt/root"
mount -t overlay "$tag" -o "lowerdir=/,upperdir=$mnt/upper,workdir=$mnt/work" "$mnt/root"
r=$mnt/root
mount --rbind /dev "$r/dev"
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount -t tmpfs -o mode=0755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
mkdir -p "$r/run/sshd" "$r/etc/ssh/lab" "$r/etc/sudoers.d"
cp "$cfg/sshd_config" "$cfg/ssh_host_ed25519_key" "$cfg/authorized_keys" "$r/etc/ssh/lab/"
chmod 600 "$r/etc/ssh/lab/ssh_host_ed25519_key"
echo "$name" > "$r/etc/hostname"
printf '127.0.1.1 %s\\n' "$name" >> "$r/etc/hosts"
chroot "$r" id -u "$user" >/dev/null 2>&1 || chroot "$r" useradd -m -s /bin/bash "$user"
chroot "$r" chpasswd
printf '%s ALL=(ALL:ALL) ALL\\n' "$user" > "$r/etc/sudoers.d/lab"
chmod 440 "$r/etc/sudoers.d/lab"
exec chroot "$r" /usr/sbin/sshd -D -e -f /etc/ssh/lab/sshd_config </dev/null
`;

function sshdConfig(address: string, port: number): string {
  return [
    `ListenAddress ${address}`,
    `Port ${port}`,
    'HostKey /etc/ssh/lab/ssh_host_ed25519_key',
    'AuthorizedKeysFile /etc/ssh/lab/authorized_keys',
    'PermitRootLogin yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    // PAM would run pam_loginuid/pam_systemd, which have no place in a namespace host.
    'UsePAM no',
    'UseDNS no',
    'PidFile none',
    'AllowTcpForwarding yes',
    // The engine opens many channels per host, and fan-out benchmarks many handshakes at once.
    'MaxSessions 100',
    'MaxStartups 200:30:400',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    '',
  ].join('\n');
}

async function startHost(s: Starter, host: LabHost): Promise<LabHost> {
  const cfg = join(s.dir, 'hosts', host.netns);
  const mnt = join(s.dir, 'mnt', host.netns);
  await mkdir(cfg, { recursive: true });
  await mkdir(mnt, { recursive: true });
  await writeFile(join(cfg, 'sshd_config'), sshdConfig(host.address, host.port));
  await writeFile(join(cfg, 'authorized_keys'), s.authorized);
  await keygen(join(cfg, 'ssh_host_ed25519_key'), '');
  host.publicKey = (await readFile(join(cfg, 'ssh_host_ed25519_key.pub'), 'utf8')).trim();
  const log = join(cfg, 'sshd.log');
  const fd = openSync(log, 'a');
  try {
    // `ip netns exec`, `unshare` and `chroot` all exec, so the child's PID is sshd's PID.
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        host.netns,
        'unshare',
        '--mount',
        '--uts',
        '--propagation',
        'private',
        '/bin/sh',
        '-c',
        HOST_SCRIPT,
        'lab-host',
        host.name,
        mnt,
        cfg,
        s.testUser.name,
        s.prefix,
      ],
      { stdio: ['pipe', fd, fd], detached: true },
    );
    // chpasswd reads `user:password` on stdin: the password never reaches an argv.
    child.stdin?.end(`${s.testUser.name}:${s.testUser.password}\n`);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`lab: host ${host.name} exited ${code} before sshd listened; see ${log}`)),
      ),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForLog(log, 1), exited]);
    child.removeAllListeners('exit');
    child.unref();
    if (child.pid === undefined) throw new Error(`lab: could not start host ${host.name}`);
    host.pid = child.pid;
  } finally {
    closeSync(fd);
  }
  return host;
}

/** Waits until sshd's log says it listens for the `count`-th time (fs.watch, not polling). */
function waitForLog(log: string, count: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      watcher.close();
      clearTimeout(timer);
      if (err) reject(err);
      else resolvePromise();
    };
    const check = () => {
      readFile(log, 'utf8').then(
        (text) => {
          if (countOf(text, SSHD_READY) >= count) finish();
        },
        (e: Error) => finish(e),
      );
    };
    const watcher = watch(log, check);
    const timer = setTimeout(
      () => finish(new Error(`lab: sshd did not listen within ${READY_TIMEOUT_MS} ms; see ${log}`)),
      READY_TIMEOUT_MS,
    );
    check();
  });
}

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

async function plugIn(o: {
  netns: string;
  veth: string;
  bridge: string;
  bridgeNs: string;
  /** The host's address on the link; none for a bare port. */
  address?: string;
  /** The link's name inside the host; `eth0` by default. */
  peer?: string;
  mtu?: number;
}): Promise<void> {
  const peer = o.peer ?? 'eth0';
  const inBridgeNs = o.bridgeNs ? ['-n', o.bridgeNs] : [];
  await mustRun('ip', [
    ...inBridgeNs,
    'link',
    'add',
    o.veth,
    'type',
    'veth',
    'peer',
    'name',
    peer,
    'netns',
    o.netns,
  ]);
  if (o.mtu !== undefined) {
    await mustRun('ip', [...inBridgeNs, 'link', 'set', o.veth, 'mtu', String(o.mtu)]);
    await mustRun('ip', ['-n', o.netns, 'link', 'set', peer, 'mtu', String(o.mtu)]);
  }
  await mustRun('ip', [...inBridgeNs, 'link', 'set', o.veth, 'master', o.bridge, 'up']);
  if (o.address !== undefined) {
    await mustRun('ip', ['-n', o.netns, 'addr', 'add', `${o.address}/24`, 'dev', peer]);
  }
  await mustRun('ip', ['-n', o.netns, 'link', 'set', peer, 'up']);
  await mustRun('ip', ['-n', o.netns, 'link', 'set', 'lo', 'up']);
}

async function setLink([netns, name]: [string, string], state: 'up' | 'down'): Promise<void> {
  await mustRun('ip', [...(netns ? ['-n', netns] : []), 'link', 'set', name, state]);
}

async function keygen(file: string, passphrase: string): Promise<void> {
  if (passphrase === '') {
    await mustRun('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ustart-lab', '-f', file]);
    return;
  }
  // ssh-keygen takes a passphrase only in argv (or from a tty): generated here instead, so
  // even a test secret stays out of /proc/*/cmdline.
  const pair = ssh2.utils.generateKeyPairSync('ed25519', {
    passphrase,
    cipher: 'aes256-ctr',
    rounds: 16,
    comment: 'ustart-lab',
  });
  await writeFile(file, pair.private, { mode: 0o600 });
  await writeFile(`${file}.pub`, `${pair.public}\n`);
}

/** Picks /24 subnets in 10.200–239.x.0 that no route of this machine uses yet. */
async function pickSubnets(count: number): Promise<{ base: string }[]> {
  const routes = await mustRun('ip', ['-4', 'route', 'show', 'table', 'all']);
  const inNamespaces = await mustRun('ip', [
    '-4',
    '-all',
    'netns',
    'exec',
    'ip',
    '-4',
    'route',
  ]).catch(() => '');
  const used = routes + inNamespaces;
  const picked: { base: string }[] = [];
  while (picked.length < count) {
    const n = randomBytes(2).readUInt16BE() % (40 * 256);
    const base = `10.${200 + (n >> 8)}.${n & 0xff}`;
    if (!used.includes(`${base}.`) && !picked.some((p) => p.base === base)) picked.push({ base });
  }
  return picked;
}

/** Lab routes carry this protocol number, so `ip route show proto` finds them all. */
const ROUTE_PROTO = 213;
const ROUTE_METRIC_BASE = 100_000;

function unreachableRoute(base: string, id: string): string[] {
  return [
    'unreachable',
    `${base}.0/24`,
    'proto',
    String(ROUTE_PROTO),
    'metric',
    String(ROUTE_METRIC_BASE + parseInt(id, 16)),
  ];
}

async function saveState(state: LabState): Promise<void> {
  await writeFile(join(state.dir, 'state.json'), JSON.stringify(state, null, 2));
  await mkdir(REGISTRY, { recursive: true });
  await writeFile(
    join(REGISTRY, `${state.id}.json`),
    JSON.stringify({ id: state.id, dir: state.dir, owner: state.owner }),
  );
}

/** Removes a lab: kills its processes, deletes its namespaces and links, its folder. Idempotent. */
export async function destroyLab(state: Pick<LabState, 'id' | 'prefix' | 'dir'>): Promise<void> {
  await sweepPrefix(state.prefix);
  await rm(state.dir, { recursive: true, force: true });
  await rm(join(REGISTRY, `${state.id}.json`), { force: true });
}

/** Tears down the lab whose folder is `dir`; with no state there, sweeps every lab on the machine. */
export async function downLab(dir: string): Promise<void> {
  const text = await readFile(join(dir, 'state.json'), 'utf8').catch(() => undefined);
  if (text) {
    await destroyLab(JSON.parse(text) as LabState);
    return;
  }
  await sweepPrefix(LAB_PREFIX);
  await rm(dir, { recursive: true, force: true });
  for (const entry of await readdir(REGISTRY).catch(() => [])) {
    const reg = await readRegistry(entry);
    if (reg) await rm(reg.dir, { recursive: true, force: true });
    await rm(join(REGISTRY, entry), { force: true });
  }
}

/** Labs whose owning process died (a crashed test run) are removed before a new one starts. */
async function sweepStaleLabs(): Promise<void> {
  for (const entry of await readdir(REGISTRY).catch(() => [])) {
    const reg = await readRegistry(entry);
    if (!reg || reg.owner === 0 || isAlive(reg.owner)) continue;
    await destroyLab({ id: reg.id, prefix: `${LAB_PREFIX}${reg.id}`, dir: reg.dir });
  }
}

async function readRegistry(
  entry: string,
): Promise<{ id: string; dir: string; owner: number } | undefined> {
  const text = await readFile(join(REGISTRY, entry), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as { id: string; dir: string; owner: number };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills every process in, and deletes, each namespace and link whose name starts with `prefix`. */
async function sweepPrefix(prefix: string): Promise<void> {
  if (!PREFIX_RE.test(prefix) && prefix !== LAB_PREFIX) {
    throw new Error(`lab: refusing to sweep "${prefix}", not a lab prefix`);
  }
  const list = await runCommand('ip', ['netns', 'list']);
  const namespaces = list.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix) && PREFIX_RE.test(n));
  for (const ns of namespaces) {
    const pids = await runCommand('ip', ['netns', 'pids', ns]);
    for (const pid of pids.stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await runCommand('ip', ['netns', 'del', ns]);
  }
  const routes = await runCommand('ip', ['-4', 'route', 'show', 'proto', String(ROUTE_PROTO)]);
  for (const line of routes.stdout.split('\n')) {
    const m = /^unreachable (\S+).* metric (\d+)/.exec(line);
    if (!m) continue;
    const id = (Number(m[2]) - ROUTE_METRIC_BASE).toString(16).padStart(4, '0');
    if (`${LAB_PREFIX}${id}`.startsWith(prefix)) {
      await runCommand('ip', ['route', 'del', 'unreachable', m[1]!, 'metric', m[2]!]);
    }
  }
  const links = await runCommand('ip', ['-o', 'link', 'show']);
  for (const line of links.stdout.split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name && name.startsWith(prefix) && PREFIX_RE.test(name)) {
      await runCommand('ip', ['link', 'del', name]);
    }
  }
}

/** True when a lab's state file exists in `dir`. */
export function hasLabState(dir: string): boolean {
  return existsSync(join(dir, 'state.json'));
}

export async function readLabState(dir: string): Promise<LabState> {
  return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as LabState;
}
