/**
 * The uMetal lab, shared by the lab tests of the uMetal phase and the browser e2e tests that
 * drive the same install through the UI: lab hosts (test/lab) prepared like fresh servers, a
 * real signed offline bundle pushed to each, and the test doubles that stand in for what
 * cannot run in a lab host.
 *
 * ```ts
 * const u = await prepareUmetalLab({ hosts: 6 });
 * try {
 *   // u.plan / u.planPath: the lab's site plan (3 controllers, then compute, then storage)
 *   // run the umetal phase on it (engine, CLI or UI), then look at the hosts:
 *   await u.lab.exec(0, 'cat /etc/chrony/chrony.conf');
 *   const calls = await u.calls(); // what kubeadm, kubectl, helm, systemctl … were asked
 * } finally {
 *   await u.dispose();
 * }
 * ```
 *
 * The bundle is copied into each host by default (`bundleDelivery`), each file then checked
 * on the host against the signed manifest, because a real push of ~60 MB takes about a minute
 * per host here; `pushBundle` itself is tested in bundle-lab.test.ts.
 *
 * What runs for real on the hosts: apt from the bundle's repository (containerd, runc, chrony,
 * conntrack, … with their dependencies, resolved by `bundle create` from Debian), chronyd,
 * containerd with the rendered configuration, image import from the bundle, hostname,
 * /etc/hosts, sysctls in the host's network namespace, /etc/fstab.
 *
 * What is a double (test/doubles, built into single files with esbuild):
 * - `systemctl` (in /usr/local/bin, put there by this fixture): systemd cannot run in a lab
 *   host (it is not PID 1 there), so the double starts each unit's ExecStart from the unit
 *   file the package installed, stops it, and reports whether it lives. It starts chronyd
 *   with `-x`: the lab hosts share this machine's clock, which chrony must never set.
 * - `kubeadm`, `kubelet`, `kubectl`, `helm`, `clusterctl`: pinned binaries in the bundle's
 *   `bin/` (kind `binary`), installed by the runbook's kubernetes-packages step like real ones.
 *
 * How each host is made to look like a fresh server, and why:
 * - `/usr/sbin/policy-rc.d` exits 101 (Debian's rule for chroots and containers): package
 *   scripts must not start daemons through init scripts here; the steps start them.
 * - a tmpfs on `/var/lib/containerd`: the host's root is an overlayfs, which cannot hold
 *   containerd's overlay snapshots (a real server has a disk there).
 * - the host name `debian` and a swap line in `/etc/fstab`, for the OS baseline to fix.
 * - dpkg leaves out manuals and docs and does not fsync (as minimal Debian images do), so six
 *   hosts installing at once stay quick.
 *
 * Safety: the hosts share this machine's kernel and clock. `prepareUmetalLab` refuses to
 * start when this machine has swap on (the swap-off step would turn the machine's swap off);
 * the runbook's sysctls are all `net.*` (per network namespace); kernel modules are only
 * checked, never loaded, when the kernel already has them (built in here: no /proc/modules).
 *
 * The bundle is built once per content (package list, doubles, charts, image) and cached in
 * the temp folder (`ustart-umetal-bundle-<key>`), so test files share it; a cold build
 * downloads the packages from this machine's Debian mirror.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  createBundle,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  pushBundle,
  verifyBundle,
  type VerifyReport,
} from '../../src/bundle/index.js';
import { PACKAGES_FILE, runbookPackages } from '../../src/bundle/packages.js';
import { loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import { BUNDLE_VERIFIED_MARKER } from '../../src/bundle/delivery-step.js';
import { PAUSE_IMAGE } from '../../src/render/generators/kubernetes.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import { assetPath } from '../../src/util/assets.js';
import { writeOciImage } from '../integration/oci-image.js';
import { KUBEADM_IMAGES } from './kubeadm-images.js';
import { createLab, type Lab } from '../lab/lab.js';
import { mustRun, runCommand } from '../lab/run.js';

/** The package groups of the runbook (assets/runbook/packages/apt.yaml) the uMetal steps install. */
export const UMETAL_PACKAGE_GROUPS = [
  'umetal.host-tools',
  'umetal.host-network',
  'umetal.time-sync',
  'umetal.containerd',
  'umetal.site-registry',
  'umetal.kubernetes-packages',
] as const;
/** Doubles shipped in the bundle's bin/, installed by the kubernetes-packages step. */
export const BUNDLE_DOUBLES = ['kubeadm', 'kubelet', 'kubectl', 'helm', 'clusterctl'] as const;
/** Where the doubles keep their state and `calls.jsonl` on a host (test/doubles/lib.mjs). */
export const DOUBLES_STATE = '/var/lib/ustart-doubles';
/** Charts the uMetal steps install, as `bundle_file` patterns in the scripts expect them. */
const CHARTS = [
  ['cilium', '1.16.5'],
  ['rook-ceph', 'v1.15.6'],
  ['kube-prometheus-stack', '66.3.1'],
  ['loki', '6.23.0'],
  ['alloy', '1.11.1'],
] as const;

/**
 * A Docker Hub image in the bundle, as `bundle create --image` would add one: the site
 * registry serves it as `docker.io/library/ustart-hello` (site-registry-lab.test.ts).
 */
export const HUB_TEST_IMAGE = 'docker.io/library/ustart-hello:1.0';

/** Bump when the bundle's content changes in a way the cache key does not see. */
const FIXTURE_VERSION = 2;
const CREATED_AT = new Date('2026-01-01T00:00:00Z');
const DOUBLES = fileURLToPath(new URL('../doubles/', import.meta.url));

/**
 * The kubelet unit and kubeadm's drop-in with the lines that matter as kubernetes/release
 * ships them in the packages: both start /usr/bin/kubelet
 * (docs/upstream-facts.md#kubelet.unit-path). Written here from that row, not copied.
 */
const KUBELET_SERVICE = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;
const KUBEADM_DROP_IN = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;

export interface UmetalLabOptions {
  /** Lab hosts: the first three are controllers, the rest compute then storage. Default 6. */
  hosts?: number;
  /**
   * How the bundle reaches the hosts' /var/lib/ustart/bundle: `copy` (default) writes the
   * verified folder into each host's root and checks every file there against the manifest,
   * leaving what the run's umetal.bundle step leaves, in seconds; `push` uses `pushBundle` over SSH (tested
   * on its own in bundle-lab.test.ts; about a minute per host on a busy 2-core machine);
   * `none` leaves the hosts without a bundle, for a run to deliver it (umetal.bundle).
   */
  bundleDelivery?: 'copy' | 'push' | 'none';
  /** Each host also gets an `eth1` on a bridge of its own (test/lab: `secondLink`). */
  secondLink?: boolean;
  /** The MTU of the lab's bridges and links (test/lab: `mtu`); the kernel's default if absent. */
  mtu?: number;
}

/** A verified, signed bundle folder for the lab's plan (debian-12, amd64). */
export interface UmetalBundle {
  dir: string;
  publicKeyPath: string;
  privateKeyPath: string;
  /** Content key of the cache entry (hex). */
  key: string;
  report: VerifyReport;
  /** The pause image the rendered containerd configuration names (before site-local tagging). */
  pauseImage: { name: string; manifestDigest: string };
  /** HUB_TEST_IMAGE as the bundle holds it. */
  hubImage: { name: string; manifestDigest: string };
}

/** One call a double recorded on a host (test/doubles/lib.mjs). */
export interface DoubleCall {
  timeNs: string;
  clockNs: string;
  host: string;
  tool: string;
  argv: string[];
  ok: boolean;
  message?: string;
  seen?: Record<string, unknown>;
}

export interface UmetalLab {
  lab: Lab;
  plan: Plan;
  planPath: string;
  bundle: UmetalBundle;
  bundleDir: string;
  bundlePublicKeyPath: string;
  /** An SSH transport to the lab's hosts, closed by `dispose`. */
  transport: Ssh2Transport;
  /** Every double's calls on every host, oldest first (by wall clock across hosts). */
  calls(): Promise<DoubleCall[]>;
  /**
   * The doubles' cluster state on this machine, mounted on every host at DOUBLES_STATE: a
   * test ages what the cluster keeps (kubeadm.json) or injects a fault (`fail`) here.
   */
  clusterState: string;
  /** Stops the transport and the lab (every daemon a host started dies with it). */
  dispose(): Promise<void>;
}

/** Builds the lab: the bundle (cached), the hosts, the doubles, the bundle pushed. */
export async function prepareUmetalLab(options: UmetalLabOptions = {}): Promise<UmetalLab> {
  await refuseMachineSwap();
  const bundle = await prepareUmetalBundle();
  const lab = await createLab({
    hosts: options.hosts ?? 6,
    ...(options.secondLink ? { secondLink: true } : {}),
    ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
  });
  const cluster = await mkdtemp(join(tmpdir(), 'ustart-umetal-cluster-'));
  let transport: Ssh2Transport | undefined;
  try {
    const parsed = await loadPlanFile(lab.planPath);
    if (!parsed.plan) throw new Error(`the lab's plan ${lab.planPath} does not load`);
    const systemctl = await buildDouble('systemctl');
    await Promise.all(lab.hosts.map((h) => prepareHost(lab, h.index, h.pid, systemctl)));
    for (const h of lab.hosts) await shareCluster(h.pid, cluster);
    transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
    });
    const t = transport;
    const delivery = options.bundleDelivery ?? 'copy';
    if (delivery === 'push') {
      await Promise.all(
        lab.hosts.map(async (h) => {
          await pushBundle(t, lab.target(h.index), bundle.report);
          await markChecked(lab, h.index);
        }),
      );
    } else if (delivery === 'copy') {
      await Promise.all(lab.hosts.map((h) => copyBundle(lab, h.index, h.pid, bundle)));
    }
    return {
      lab,
      plan: parsed.plan,
      planPath: lab.planPath,
      bundle,
      bundleDir: bundle.dir,
      bundlePublicKeyPath: bundle.publicKeyPath,
      transport: t,
      calls: () => callsOf(cluster),
      clusterState: cluster,
      dispose: async () => {
        await t.dispose();
        await lab.dispose();
        await rm(cluster, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await transport?.dispose();
    await lab.dispose();
    await rm(cluster, { recursive: true, force: true });
    throw e;
  }
}

/** The swap-off step acts on the kernel the lab shares with this machine. */
async function refuseMachineSwap(): Promise<void> {
  const swap = await runCommand('swapon', ['--noheadings', '--show']);
  if (swap.stdout.trim() !== '') {
    throw new Error(
      `this machine has swap on (${swap.stdout.trim()}); the uMetal lab's swap-off step would turn it off for the whole machine. Run the uMetal lab tests on a machine without swap.`,
    );
  }
}

async function prepareHost(lab: Lab, index: number, pid: number, systemctl: Uint8Array) {
  const root = `/proc/${pid}/root`;
  const script = [
    'set -e',
    'mkdir -p /var/lib/containerd /usr/local/bin',
    'mount -t tmpfs -o mode=0711 ustart-containerd /var/lib/containerd',
    "printf '#!/bin/sh\\n# uStart lab: package scripts start no daemons here (Debian policy-rc.d).\\nexit 101\\n' > /usr/sbin/policy-rc.d",
    'chmod 755 /usr/sbin/policy-rc.d',
    // As in minimal Debian images: no manuals or docs, no fsync per file (the upper layer is a tmpfs).
    "printf 'path-exclude=/usr/share/man/*\\npath-exclude=/usr/share/doc/*\\nforce-unsafe-io\\n' > /etc/dpkg/dpkg.cfg.d/ustart-lab",
    'hostname debian && echo debian > /etc/hostname',
    "printf '/swap.img\\tnone\\tswap\\tsw\\t0\\t0\\n' >> /etc/fstab",
  ].join('\n');
  const r = await lab.exec(index, script);
  if (r.code !== 0) throw new Error(`preparing lab host ${index} failed: ${r.stderr}`);
  // Written through the host's own root: it lands in its overlay, like a change on the host.
  await writeFile(`${root}/usr/local/bin/systemctl`, systemctl, { mode: 0o755 });
}

/**
 * The bundle where the umetal.bundle step puts it, each file checked on the host against the
 * manifest, with the step's marker.
 */
async function copyBundle(lab: Lab, index: number, pid: number, bundle: UmetalBundle) {
  const remote = '/var/lib/ustart/bundle';
  await mkdir(`/proc/${pid}/root${remote}`, { recursive: true });
  await cp(bundle.dir, `/proc/${pid}/root${remote}`, { recursive: true });
  const sums = bundle.report.manifest!.entries.map((e) => `${e.sha256}  ${e.path}\n`).join('');
  await writeFile(`/proc/${pid}/root${remote}/.sha256`, sums);
  const r = await lab.exec(index, `cd ${remote} && sha256sum --quiet -c .sha256 && rm .sha256`);
  if (r.code !== 0)
    throw new Error(
      `the bundle copied to lab host ${index} does not check: ${r.stdout}${r.stderr}`,
    );
  await markChecked(lab, index);
}

/** The marker the run's umetal.bundle step leaves: package-source.sh trusts a checked bundle only. */
async function markChecked(lab: Lab, index: number) {
  const remote = '/var/lib/ustart/bundle';
  const r = await lab.exec(
    index,
    `cd ${remote} && sha256sum < bundle.json | cut -d' ' -f1 > ${BUNDLE_VERIFIED_MARKER}`,
  );
  if (r.code !== 0) throw new Error(`could not mark the bundle on lab host ${index}: ${r.stderr}`);
}

/**
 * One folder of this machine mounted as every host's doubles' state: a cluster is one API
 * whichever node a tool runs on, so what kubeadm registers on a joining host is what kubectl
 * on the first controller sees (test/doubles/lib.mjs). The bind mount lives in the host's
 * private mount namespace and goes with it.
 */
export async function shareCluster(pid: number, cluster: string): Promise<void> {
  const script = `d="$(readlink /proc/${pid}/root)${DOUBLES_STATE}" && mkdir -p "$d" && mount --bind "$1" "$d"`;
  await mustRun('nsenter', ['-t', String(pid), '-m', '/bin/sh', '-c', script, 'share', cluster]);
}

async function callsOf(cluster: string): Promise<DoubleCall[]> {
  const text = await readFile(join(cluster, 'calls.jsonl'), 'utf8').catch(() => '');
  const all = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DoubleCall);
  return all.sort((a, b) => (BigInt(a.clockNs) < BigInt(b.clockNs) ? -1 : 1));
}

/** A double and what it imports, in one executable file for a lab host's /usr/bin/node. */
export async function buildDouble(tool: string): Promise<Uint8Array> {
  const built = await build({
    entryPoints: [join(DOUBLES, `${tool}.mjs`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    // yaml's CommonJS build calls require(); ESM output has none without this.
    banner: {
      js: "#!/usr/bin/node\nimport { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  return built.outputFiles[0]!.contents;
}

/**
 * The lab's bundle: the uMetal steps' packages with their closure, the doubles as pinned
 * binaries, the kubelet unit files, the charts and the pause image; signed and verified.
 * Cached in the temp folder by content; a concurrent builder's result is used as it is.
 */
export async function prepareUmetalBundle(): Promise<UmetalBundle> {
  const packages = runbookPackages(UMETAL_PACKAGE_GROUPS);
  const doubles = await Promise.all(
    BUNDLE_DOUBLES.map(async (t) => ({ t, code: await buildDouble(t) })),
  );
  const hash = createHash('sha256').update(
    JSON.stringify({
      FIXTURE_VERSION,
      packages,
      CHARTS,
      PAUSE_IMAGE,
      HUB_TEST_IMAGE,
      KUBEADM_IMAGES,
      KUBELET_SERVICE,
      KUBEADM_DROP_IN,
    }),
  );
  for (const d of doubles) hash.update(d.t).update(d.code);
  const key = hash.digest('hex').slice(0, 16);
  const cache = join(tmpdir(), `ustart-umetal-bundle-${key}`);
  if (!existsSync(join(cache, 'ready.json'))) {
    const work = `${cache}.build-${process.pid}-${randomBytes(3).toString('hex')}`;
    try {
      await buildBundle(work, packages, doubles);
      await rename(work, cache).catch(async (e: NodeJS.ErrnoException) => {
        // Another test file built the same content first: use theirs.
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  const ready = JSON.parse(await readFile(join(cache, 'ready.json'), 'utf8')) as {
    pauseImage: UmetalBundle['pauseImage'];
    hubImage: UmetalBundle['hubImage'];
  };
  const publicKeyPath = join(cache, 'signing.pub');
  const report = await verifyBundle(join(cache, 'bundle'), await loadPublicKey(publicKeyPath));
  if (!report.ok) {
    throw new Error(
      `the cached uMetal bundle in ${cache} does not verify (remove the folder): ${report.problems.map((p) => p.message).join('; ')}`,
    );
  }
  return {
    dir: join(cache, 'bundle'),
    publicKeyPath,
    privateKeyPath: join(cache, 'signing.key'),
    key,
    report,
    pauseImage: ready.pauseImage,
    hubImage: ready.hubImage,
  };
}

async function buildBundle(
  work: string,
  packages: readonly string[],
  doubles: readonly { t: string; code: Uint8Array }[],
): Promise<void> {
  const inputs = join(work, 'inputs');
  await mkdir(join(inputs, 'bin'), { recursive: true });
  for (const d of doubles) {
    await writeFile(join(inputs, 'bin', d.t), d.code);
    await chmod(join(inputs, 'bin', d.t), 0o755);
  }
  await mkdir(join(inputs, 'kubelet'), { recursive: true });
  await writeFile(join(inputs, 'kubelet', 'kubelet.service'), KUBELET_SERVICE);
  await writeFile(join(inputs, 'kubelet', '10-kubeadm.conf'), KUBEADM_DROP_IN);
  await mkdir(join(inputs, 'dashboards'), { recursive: true });
  await writeFile(
    join(inputs, 'dashboards', 'ceph-cluster.json'),
    JSON.stringify({ title: 'Ceph cluster (lab)', panels: [] }) + '\n',
  );
  const charts = join(inputs, 'charts');
  for (const [name, version] of CHARTS) {
    const src = join(inputs, 'chart-src', name);
    await mkdir(src, { recursive: true });
    await writeFile(
      join(src, 'Chart.yaml'),
      `apiVersion: v2\nname: ${name}\nversion: ${version.replace(/^v/, '')}\ndescription: uStart lab stand-in\n`,
    );
    await mkdir(charts, { recursive: true });
    await mustRun('tar', [
      '-czf',
      join(charts, `${name}-${version}.tgz`),
      '-C',
      join(src, '..'),
      name,
    ]);
  }
  const pauseImage = await writeOciImage(join(inputs, 'pause.tar'), {
    name: PAUSE_IMAGE,
    files: { '/pause': 'uStart lab stand-in for the pause binary\n' },
  });
  const hubImage = await writeOciImage(join(inputs, 'ustart-hello.tar'), {
    name: HUB_TEST_IMAGE,
    files: { '/hello.txt': 'hello from the site registry\n' },
  });
  const kubeadmImages = KUBEADM_IMAGES.map((name) => ({
    name,
    path: join(inputs, `${name.slice(name.lastIndexOf('/') + 1).replace(':', '-')}.tar`),
  }));
  for (const i of kubeadmImages)
    await writeOciImage(i.path, {
      name: i.name,
      files: { '/stand-in': `uStart lab stand-in for ${i.name}\n` },
    });
  // The bundle's runbook folder carries the package list; the engine uploads the scripts it runs.
  const runbook = join(inputs, 'runbook');
  await mkdir(join(runbook, 'packages'), { recursive: true });
  await cp(assetPath('runbook', PACKAGES_FILE), join(runbook, PACKAGES_FILE));
  const keyPrefix = join(work, 'signing');
  await generateKeyPair(keyPrefix);
  const plan = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  await createBundle({
    plan: { ...plan, site: { ...plan.site, osRelease: 'debian-12' } },
    out: join(work, 'bundle'),
    privateKey: await loadPrivateKey(`${keyPrefix}.key`),
    packages,
    architecture: 'amd64',
    createdAt: CREATED_AT,
    runbookDir: runbook,
    add: [
      ...doubles.map((d) => ({ kind: 'binary' as const, path: join(inputs, 'bin', d.t) })),
      { kind: 'file', path: join(inputs, 'kubelet') },
      { kind: 'file', path: join(inputs, 'dashboards') },
      ...CHARTS.map(([n, v]) => ({ kind: 'chart' as const, path: join(charts, `${n}-${v}.tgz`) })),
      { kind: 'image', path: join(inputs, 'pause.tar') },
      { kind: 'image', path: join(inputs, 'ustart-hello.tar') },
      ...kubeadmImages.map((i) => ({ kind: 'image' as const, path: i.path })),
    ],
  });
  await rm(inputs, { recursive: true, force: true });
  await writeFile(join(work, 'ready.json'), JSON.stringify({ pauseImage, hubImage }) + '\n');
}
