/**
 * Small Linux guests in QEMU (TCG, no KVM needed), for what this machine's kernel cannot do:
 * it is built without loadable modules, 802.1Q VLANs and bonding, but a guest runs its own
 * kernel — Debian's, with the modules `8021q` and `bonding` — so there the runbook's host
 * networking runs on real Linux VLANs and bonds.
 *
 * ```ts
 * const image = await prepareGuestImage();                  // cached in the temp folder
 * const g = await bootGuest({ image, name: 'a', dir, nics, files });
 * const r = await g.run('ip -d link show'); // { code, output }
 * await g.dispose();                        // kills QEMU, always
 * ```
 *
 * Everything comes from Debian's packages: the kernel and its modules from
 * `linux-image-<release>-amd64` (the one the `linux-image-amd64` package depends on now,
 * fetched with `apt-get download`), the initramfs from busybox-static and this machine's own
 * bash, iproute2, iputils-ping, coreutils, grep, sed and mawk, each with the shared libraries
 * `ldd` lists and the loader. The image is built once per content and cached in the temp
 * folder (`ustart-qemu-guest-<key>`); nothing downloaded goes into the repository.
 *
 * A guest has no sshd: it runs commands that arrive on its serial console (QEMU's stdio, a
 * pipe here), one line each, and answers each with marker lines (`@@end <n> <exit code>`) the
 * test waits for. Its NICs are virtio-net, each on a point-to-point link to the other guest's
 * NIC (QEMU's `dgram` netdev over two Unix datagram sockets in the temp folder, so no frame
 * touches an IP network of this machine; docs/upstream-facts.md#qemu-netdev-dgram), and
 * QEMU's `filter-dump` writes what passes a NIC to a pcap file
 * (docs/upstream-facts.md#qemu-filter-dump).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { cpioNewc, type CpioEntry } from '../../src/util/cpio.js';

const run = promisify(execFile);

/** The longest a guest lives, whatever happens to the test that started it. */
const GUEST_LIFETIME_S = 900;

/** Bump when the image changes in a way the cache key does not see. */
const IMAGE_VERSION = 1;

/**
 * Kernel modules the guests load, with what they depend on (read from each module's own
 * `depends=`): virtio-net and its PCI transport (modules in Debian's kernel), 802.1Q VLANs,
 * bonding.
 */
const MODULES = ['virtio_pci', 'virtio_net', '8021q', 'bonding'];
/** Where in Debian's kernel package those modules and their dependencies are. */
const MODULE_DIRS = ['kernel/net', 'kernel/drivers/net', 'kernel/drivers/virtio'];

/**
 * This machine's programs the guest gets (with their libraries): what the runbook's
 * lib.sh and host-network scripts call, so they run as on a host, not on busybox's
 * look-alikes. Busybox gives the rest (mount, modprobe, depmod, stty, poweroff).
 */
const TOOLS = [
  'bash',
  'ip',
  'ping',
  'awk',
  'grep',
  'sed',
  'cmp',
  'diff',
  'cat',
  'cp',
  'mv',
  'rm',
  'mkdir',
  'rmdir',
  'ls',
  'ln',
  'install',
  'stat',
  'cut',
  'paste',
  'basename',
  'dirname',
  'readlink',
  'tac',
  'sort',
  'head',
  'tail',
  'tr',
  'uname',
  'mktemp',
  'chmod',
  'chown',
  'sleep',
  'env',
  'wc',
  'tee',
  'hostname',
  'timeout',
];
const TOOL_PACKAGES =
  'bash iproute2 iputils-ping mawk grep sed diffutils coreutils hostname (Debian packages)';

/** Why guests cannot run here, or undefined when they can. */
export function guestUnavailableReason(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return 'QEMU guests need Linux on x86-64 (Debian amd64 kernel and tools)';
  }
  const missing: string[] = [];
  if (!which('qemu-system-x86_64')) missing.push('qemu-system-x86');
  if (!busyboxIsStatic()) missing.push('busybox-static');
  if (!which('apt-get') || !which('dpkg-deb') || !which('tar')) missing.push('apt, dpkg, tar');
  if (!which('ldd')) missing.push('libc-bin (ldd)');
  const tools = TOOLS.filter((t) => !which(t));
  if (tools.length) missing.push(`${tools.join(', ')} (${TOOL_PACKAGES})`);
  if (missing.length) {
    return `QEMU guests need ${missing.join('; ')}: apt-get install --no-install-recommends qemu-system-x86 busybox-static iputils-ping`;
  }
  return undefined;
}

/** True when guests can run; throws in CI when they cannot, so their tests never skip there. */
export function guestsAvailable(): boolean {
  const reason = guestUnavailableReason();
  if (reason === undefined) return true;
  if (process.env.CI) throw new Error(`QEMU guest tests cannot run in CI: ${reason}`);
  return false;
}

function which(name: string): string | undefined {
  const r = spawnSync('bash', ['-c', 'command -v -- "$1"', '_', name], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path.startsWith('/') ? path : undefined;
}

function busyboxIsStatic(): boolean {
  const path = which('busybox');
  if (!path) return false;
  // ldd says so, and exits non-zero, for a static binary.
  const r = spawnSync('ldd', [path], { encoding: 'utf8' });
  return /not a dynamic executable|statically linked/.test(r.stdout + r.stderr);
}

export interface GuestImage {
  kernel: string;
  /** The shared initramfs; each guest gets it with its own files appended. */
  initrd: string;
  /** The guest kernel's release (`uname -r`), such as `6.1.0-57-amd64`. */
  release: string;
  /** The Debian package the kernel came from, such as `linux-image-6.1.0-57-amd64`. */
  kernelPackage: string;
}

/**
 * The guest kernel and shared initramfs, built once per content (kernel package, busybox,
 * tools, init) and cached in the temp folder; a concurrent builder's result is used as it is.
 */
export async function prepareGuestImage(): Promise<GuestImage> {
  const deb = await kernelDeb();
  const tools = await toolFiles();
  const busybox = await readFile(which('busybox')!);
  const hash = createHash('sha256').update(
    JSON.stringify({ IMAGE_VERSION, deb: basename(deb.path), MODULES, INIT, SHELL }),
  );
  hash.update(busybox);
  for (const t of tools) hash.update(`${t.path} ${t.mode}`).update(t.data);
  const key = hash.digest('hex').slice(0, 16);
  const cache = join(tmpdir(), `ustart-qemu-guest-${key}`);
  if (!existsSync(join(cache, 'ready.json'))) {
    const work = `${cache}.build-${process.pid}-${randomBytes(3).toString('hex')}`;
    try {
      await buildImage(work, deb, tools, busybox);
      await rename(work, cache).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  const ready = JSON.parse(await readFile(join(cache, 'ready.json'), 'utf8')) as {
    release: string;
  };
  return {
    kernel: join(cache, 'vmlinuz'),
    initrd: join(cache, 'initrd.cpio'),
    release: ready.release,
    kernelPackage: deb.pkg,
  };
}

/**
 * Debian's current amd64 kernel package: the one `linux-image-amd64` depends on, downloaded
 * once into the temp folder with `apt-get download` (Debian's mirror, as apt is set up here).
 */
async function kernelDeb(): Promise<{ pkg: string; path: string }> {
  const { stdout } = await run('apt-cache', ['depends', '--important', 'linux-image-amd64']);
  const pkg = /Depends:\s*(linux-image-[0-9][^\s]*-amd64)\b/.exec(stdout)?.[1];
  if (!pkg) {
    throw new Error(
      `apt does not know which kernel linux-image-amd64 depends on (apt-cache said: ${stdout.trim() || 'nothing'}); run apt-get update`,
    );
  }
  const dir = join(tmpdir(), 'ustart-qemu-debs');
  await mkdir(dir, { recursive: true });
  const find = async () =>
    (await readdir(dir)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  let file = await find();
  if (!file) {
    const work = join(dir, `download-${process.pid}-${randomBytes(3).toString('hex')}`);
    await mkdir(work);
    try {
      await run('apt-get', ['download', '-q', pkg], { cwd: work, maxBuffer: 1 << 24 });
      const got = (await readdir(work)).find((f) => f.endsWith('.deb'));
      if (!got) throw new Error(`apt-get download ${pkg} left no .deb in ${work}`);
      await rename(join(work, got), join(dir, got));
      file = got;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  return { pkg, path: join(dir, file) };
}

/** Each tool with every file it needs to run: itself, its libraries, the loader. */
async function toolFiles(): Promise<{ path: string; data: Buffer; mode: number }[]> {
  const files = new Map<string, string>(); // guest path → path here
  for (const tool of TOOLS) {
    const path = which(tool)!;
    files.set(usrPath(path), path);
    const { stdout } = await run('ldd', [path]);
    for (const line of stdout.split('\n')) {
      // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
      const lib = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1];
      if (lib) files.set(usrPath(lib), lib);
    }
  }
  return Promise.all(
    [...files].sort().map(async ([guest, here]) => {
      // The file itself, not a link to it: the guest has only what is copied.
      const real = await realpath(here);
      return { path: guest, data: await readFile(real), mode: (await stat(real)).mode & 0o7777 };
    }),
  );
}

/** Debian 12 merges /bin, /sbin, /lib, /lib64 into /usr: the guest is laid out the same. */
function usrPath(path: string): string {
  return /^\/(bin|sbin|lib|lib64)\//.test(path) ? `/usr${path}` : path;
}

async function buildImage(
  work: string,
  deb: { pkg: string; path: string },
  tools: { path: string; data: Buffer; mode: number }[],
  busybox: Buffer,
): Promise<void> {
  const extract = join(work, 'deb');
  await mkdir(extract, { recursive: true });
  const release = deb.pkg.replace(/^linux-image-/, '');
  const modulesDir = `lib/modules/${release}`;
  // Only the kernel, the module lists and the folders holding the modules wanted.
  const members = [
    `./boot/vmlinuz-${release}`,
    `./${modulesDir}/modules.builtin`,
    `./${modulesDir}/modules.order`,
    ...MODULE_DIRS.map((d) => `./${modulesDir}/${d}/*`),
  ];
  await run(
    'bash',
    [
      '-c',
      'set -o pipefail; dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "${@:3}"',
      '_',
      deb.path,
      extract,
      ...members,
    ],
    { maxBuffer: 1 << 24 },
  );
  const modules = await moduleClosure(join(extract, modulesDir));

  const entries: CpioEntry[] = [];
  for (const d of ['/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib64'])
    entries.push({ kind: 'dir', path: d });
  for (const l of ['bin', 'sbin', 'lib', 'lib64']) {
    entries.push({ kind: 'symlink', path: `/${l}`, target: `usr/${l}` });
  }
  for (const d of ['/proc', '/sys', '/dev', '/run', '/tmp', '/root', '/etc', '/var/lib']) {
    entries.push({ kind: 'dir', path: d, mode: d === '/tmp' ? 0o1777 : 0o755 });
  }
  for (const t of tools) entries.push({ kind: 'file', path: t.path, mode: t.mode, data: t.data });
  const have = new Set(tools.map((t) => t.path));
  entries.push({ kind: 'file', path: '/usr/bin/busybox', mode: 0o755, data: busybox });
  const { stdout: applets } = await run(which('busybox')!, ['--list-full']);
  for (const a of applets.split('\n').filter(Boolean)) {
    const path = usrPath(`/${a}`);
    const name = basename(path);
    // This machine's real tools win over busybox's applets of the same name.
    if (have.has(path) || tools.some((t) => basename(t.path) === name) || name === 'busybox')
      continue;
    have.add(path);
    entries.push({ kind: 'symlink', path, target: '/usr/bin/busybox' });
  }
  for (const m of modules) {
    entries.push({
      kind: 'file',
      path: `/usr/${modulesDir}/${m.relative}`,
      mode: 0o644,
      data: await readFile(join(extract, modulesDir, m.relative)),
    });
  }
  for (const f of ['modules.builtin', 'modules.order']) {
    entries.push({
      kind: 'file',
      path: `/usr/${modulesDir}/${f}`,
      mode: 0o644,
      data: await readFile(join(extract, modulesDir, f)),
    });
  }
  entries.push(
    { kind: 'file', path: '/etc/passwd', mode: 0o644, data: 'root:x:0:0:root:/root:/bin/bash\n' },
    { kind: 'file', path: '/etc/group', mode: 0o644, data: 'root:x:0:\n' },
    { kind: 'file', path: '/init', mode: 0o755, data: INIT },
    { kind: 'file', path: '/usr/local/lib/guest-shell.sh', mode: 0o755, data: SHELL },
  );
  await writeFile(join(work, 'initrd.cpio'), cpioNewc(entries));
  await writeFile(join(work, 'vmlinuz'), await readFile(join(extract, `boot/vmlinuz-${release}`)));
  await rm(extract, { recursive: true, force: true });
  await writeFile(join(work, 'ready.json'), JSON.stringify({ release, modules }, null, 2));
}

/**
 * The wanted modules and everything they depend on, by each module's `depends=` field in its
 * `.modinfo` section, which the kernel's modpost writes from the symbols a module takes from
 * other modules (docs/upstream-facts.md#linux-modinfo-depends). The package ships no
 * modules.dep (docs/upstream-facts.md#debian-kernel-modules); in the guest busybox's depmod
 * writes one.
 */
async function moduleClosure(dir: string): Promise<{ name: string; relative: string }[]> {
  const order = (await readFile(join(dir, 'modules.order'), 'utf8')).split('\n').filter(Boolean);
  const byName = new Map(
    order.map((p) => [
      basename(p)
        .replace(/\.ko.*$/, '')
        .replace(/-/g, '_'),
      p,
    ]),
  );
  const found: { name: string; relative: string }[] = [];
  const seen = new Set<string>();
  const visit = async (name: string, why: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const relative = byName.get(name);
    if (!relative) throw new Error(`kernel module ${name} (${why}) is not in ${dir}/modules.order`);
    if (!relative.endsWith('.ko')) {
      throw new Error(
        `kernel module ${relative} is compressed; busybox's modprobe needs plain .ko files`,
      );
    }
    const data = await readFile(join(dir, relative)).catch(() => {
      throw new Error(
        `kernel module ${relative} (${why}) was not extracted: add its folder to MODULE_DIRS`,
      );
    });
    found.push({ name, relative });
    const depends = /(?:^|\0)depends=([^\0]*)\0/.exec(data.toString('latin1'))?.[1] ?? '';
    for (const d of depends.split(',').filter(Boolean))
      await visit(d.replace(/-/g, '_'), `needed by ${name}`);
  };
  for (const m of MODULES) await visit(m, 'wanted');
  return found;
}

/**
 * The guest's /init (busybox sh): mounts, loads the NIC driver, brings up the management
 * network as an installer would have (its address, the MTU the plan gives its NIC), then
 * serves commands on the console. The step itself loads 8021q and bonding, as on a host.
 */
const INIT = `#!/usr/bin/busybox sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# What systemd makes at boot on a host (docs/upstream-facts.md#systemd-dev-fd); bash's process
# substitution, which lib.sh uses, needs /dev/fd.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mount -t tmpfs tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
dmesg -n 1
stty -echo
# The package's postinst makes modules.dep; here busybox's depmod does.
depmod
modprobe virtio_pci && modprobe virtio_net || echo "@@fatal no virtio-net driver"
. /etc/guest.env
hostname "$GUEST_NAME"
ip link set lo up
for nic in $GUEST_NICS; do
  name=\${nic%%=*}
  [ -d /sys/class/net/$name ] || echo "@@fatal $name is missing"
done
if [ -n "$GUEST_MGMT_NIC" ]; then
  ip link set dev "$GUEST_MGMT_NIC" mtu "$GUEST_MGMT_MTU"
  ip addr add "$GUEST_MGMT_ADDRESS" dev "$GUEST_MGMT_NIC"
  ip link set dev "$GUEST_MGMT_NIC" up
fi
echo "@@ready $(uname -r)"
exec bash /usr/local/lib/guest-shell.sh
`;

/** Runs each console line "<n><TAB><command>" with bash; answers between marker lines. */
const SHELL = `set -u
while IFS= read -r line; do
  n=\${line%%$'\\t'*}
  command=\${line#*$'\\t'}
  output=$(bash -c "$command" 2>&1 </dev/null)
  code=$?
  printf '@@begin %s\\n%s\\n@@end %s %d\\n' "$n" "$output" "$n" "$code"
done
`;

export interface GuestNic {
  /** The NIC's MAC address (from the plan). */
  mac: string;
  /** This end's Unix datagram socket (QEMU binds it) and the other guest's. */
  local: string;
  remote: string;
  /** A pcap file for everything this NIC sends and receives. */
  pcap?: string;
}

export interface GuestOptions {
  image: GuestImage;
  /** Host name; also names the guest's files in `dir`. */
  name: string;
  /** A folder of this test's own for the guest's initramfs and console log. */
  dir: string;
  /** In order: eth0, eth1, … (PCI slots 3, 4, … so the kernel names them in that order). */
  nics: readonly GuestNic[];
  /** The management network as the OS installer left it (on a NIC of `nics`). */
  management?: { nic: string; address: string; mtu: number };
  /** Files the guest has from the start (appended to the shared initramfs). */
  files?: readonly CpioEntry[];
}

export interface Guest {
  name: string;
  /** The QEMU process's id. */
  readonly pid: number | undefined;
  /** Runs a command with bash in the guest (as root); never throws for a non-zero exit. */
  run(command: string, timeoutMs?: number): Promise<{ code: number; output: string }>;
  /**
   * Cuts or mends the cable of NIC `index` (QMP `set_link`): the guest sees its carrier go or
   * come back, and frames no longer pass that NIC (docs/upstream-facts.md#qemu-set-link).
   */
  setLink(index: number, up: boolean): Promise<void>;
  /** Everything the console printed so far. */
  transcript(): string;
  /** Powers the guest off, or kills QEMU; waits until the process is gone. */
  dispose(): Promise<void>;
}

/** Starts one guest; resolves when its console says it is ready. */
export async function bootGuest(options: GuestOptions): Promise<Guest> {
  const { image, name, dir, nics } = options;
  await mkdir(dir, { recursive: true });
  const env = [
    `GUEST_NAME=${name}`,
    `GUEST_NICS="${nics.map((n, i) => `eth${i}=${n.mac}`).join(' ')}"`,
    `GUEST_MGMT_NIC=${options.management?.nic ?? ''}`,
    `GUEST_MGMT_ADDRESS=${options.management?.address ?? ''}`,
    `GUEST_MGMT_MTU=${options.management?.mtu ?? 1500}`,
  ].join('\n');
  const own = cpioNewc([
    { kind: 'file', path: '/etc/guest.env', mode: 0o644, data: `${env}\n` },
    ...(options.files ?? []),
  ]);
  const initrd = join(dir, `${name}.initrd`);
  const qmp = join(dir, `${name}.qmp`);
  await writeFile(initrd, Buffer.concat([await readFile(image.initrd), own]));

  const args = [
    '-machine',
    'q35',
    '-accel',
    'tcg',
    '-m',
    '256M',
    '-smp',
    '1',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-monitor',
    'none',
    '-no-reboot',
    '-qmp',
    `unix:${qmp},server=on,wait=off`,
    '-chardev',
    'stdio,id=console,signal=off',
    '-serial',
    'chardev:console',
    '-kernel',
    image.kernel,
    '-initrd',
    initrd,
    '-append',
    'console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init',
  ];
  nics.forEach((n, i) => {
    args.push(
      '-netdev',
      `dgram,id=n${i},local.type=unix,local.path=${n.local},remote.type=unix,remote.path=${n.remote}`,
      '-device',
      // No option ROM: the guest boots its kernel directly, never from the network.
      `virtio-net-pci,netdev=n${i},mac=${n.mac},addr=${(3 + i).toString(16)},romfile=`,
    );
    if (n.pcap) args.push('-object', `filter-dump,id=dump${i},netdev=n${i},file=${n.pcap}`);
  });
  // Bounded even if this process dies without disposing: `timeout` kills QEMU after
  // GUEST_LIFETIME_S. Both run in a process group of their own (detached), which dispose kills.
  const child = spawn(
    'timeout',
    ['-s', 'KILL', String(GUEST_LIFETIME_S), 'qemu-system-x86_64', ...args],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  return new QemuGuest(name, child, join(dir, `${name}.console.log`), qmp).ready();
}

/** Waits for a console line that `test` accepts; rejects when QEMU exits or time runs out. */
class QemuGuest implements Guest {
  private text = '';
  private waiters: { test: (line: string) => boolean; resolve: (l: string) => void }[] = [];
  private exited: Promise<void>;
  private exitInfo: string | undefined;
  private seq = 0;
  private pending = '';
  private readonly log;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    logPath: string,
    private readonly qmpPath: string,
  ) {
    this.log = createWriteStream(logPath);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = `QEMU for ${name} exited (${signal ?? `code ${code}`})`;
        resolve();
      });
      child.once('error', (e) => {
        this.exitInfo = `QEMU for ${name} could not start: ${e.message}`;
        resolve();
      });
    });
    child.stdout!.on('data', (d: Buffer) => this.take(d.toString('latin1')));
    child.stderr!.on('data', (d: Buffer) => this.take(d.toString('latin1')));
  }

  private take(chunk: string) {
    this.log.write(chunk);
    this.text += chunk;
    this.pending += chunk.replace(/\r/g, '');
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      for (const w of [...this.waiters]) {
        if (w.test(line)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  }

  private waitLine(
    test: (line: string) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<string> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.name}: ${what}: ${why}; console:\n${this.text.slice(-3000)}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
      const waiter = {
        test,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      this.waiters.push(waiter);
      void this.exited.then(() => {
        clearTimeout(timer);
        fail(this.exitInfo ?? 'QEMU exited');
      });
    });
  }

  async ready(): Promise<this> {
    try {
      const line = await this.waitLine((l) => /^@@(ready|fatal)/.test(l), 120_000, 'booting');
      if (line.startsWith('@@fatal')) throw new Error(`${this.name}: ${line}`);
    } catch (e) {
      await this.dispose();
      throw e;
    }
    return this;
  }

  transcript(): string {
    return this.text;
  }

  /** pid of the QEMU process, for tests that check it is gone. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  async setLink(index: number, up: boolean): Promise<void> {
    // QMP: a greeting, then one JSON object a line; commands need qmp_capabilities first.
    const socket = connect(this.qmpPath);
    try {
      const replies: unknown[] = [];
      let buffer = '';
      let wake: (() => void) | undefined;
      socket.on('data', (d: Buffer) => {
        buffer += d.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) replies.push(JSON.parse(line));
          wake?.();
        }
      });
      const closed = new Promise<never>((_, reject) => {
        socket.once('error', reject);
        socket.once('close', () => reject(new Error(`${this.name}: QMP closed`)));
      });
      closed.catch(() => undefined); // awaited only while an answer is missing

      const answer = async () => {
        for (;;) {
          const i = replies.findIndex(
            (r) => typeof r === 'object' && r !== null && ('return' in r || 'error' in r),
          );
          if (i >= 0) {
            const r = replies.splice(i, 1)[0] as { error?: { desc: string } };
            if (r.error) throw new Error(`${this.name}: QMP: ${r.error.desc}`);
            return;
          }
          await Promise.race([new Promise<void>((resolve) => (wake = resolve)), closed]);
        }
      };
      socket.write('{"execute":"qmp_capabilities"}\n');
      await answer();
      socket.write(
        `${JSON.stringify({ execute: 'set_link', arguments: { name: `n${index}`, up } })}\n`,
      );
      await answer();
    } finally {
      socket.destroy();
    }
  }

  async run(command: string, timeoutMs = 60_000): Promise<{ code: number; output: string }> {
    if (/[\n\r]/.test(command)) throw new Error('a guest command is one line');
    const n = ++this.seq;
    const start = this.text.length;
    const end = this.waitLine((l) => l.startsWith(`@@end ${n} `), timeoutMs, `running ${command}`);
    this.child.stdin!.write(`${n}\t${command}\n`);
    const line = await end;
    const all = this.text.slice(start).replace(/\r/g, '');
    const begin = all.indexOf(`@@begin ${n}\n`);
    const stop = all.lastIndexOf(`\n@@end ${n} `);
    const output =
      begin >= 0 && stop >= begin ? all.slice(begin + `@@begin ${n}\n`.length, stop) : all;
    return { code: Number(line.split(' ')[2]), output };
  }

  async dispose(): Promise<void> {
    const group = this.child.pid;
    if (this.exitInfo === undefined && this.child.exitCode === null && group) {
      // SIGTERM to the group: QEMU quits, `timeout` reaps it and exits. Should QEMU not quit
      // within 10 s, SIGKILL the group (`timeout` and QEMU).
      process.kill(-group, 'SIGTERM');
      let guard: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => {
        guard = setTimeout(() => resolve(true), 10_000);
      });
      if (await Promise.race([this.exited.then(() => false), late])) {
        process.kill(-group, 'SIGKILL');
        await this.exited;
      }
      clearTimeout(guard);
    }
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }
}
