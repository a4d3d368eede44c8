/**
 * Runs the test doubles on this machine as a lab's hosts would: each host has its own root
 * (USTART_DOUBLES_ROOT) and host state, all share one cluster state (as the uMetal lab mounts
 * one folder on every host), all in a temporary folder, so nothing on this machine changes.
 * A host's kubelet unit starts the kubelet double, as the bundle's unit starts the pinned
 * binary; `dispose` stops every kubelet a test started and removes the folder.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { JOIN_PLACEHOLDERS } from '../../src/render/generators/kubernetes.js';
import { GARDEN_NETWORK } from '../../src/render/generators/garden-objects.js';

export const BIN = fileURLToPath(new URL('./bin/', import.meta.url));
export const KUBELET_UNIT = '/lib/systemd/system/kubelet.service';

export interface Call {
  tool: string;
  argv: string[];
  ok: boolean;
  host: string;
  message?: string;
  seen?: Record<string, unknown>;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface DoubleHost {
  name: string;
  root: string;
  run(tool: string, ...args: string[]): Run;
  /** The same call in the background, for calls that run at once, as parallel steps do. */
  start(tool: string, ...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** This host's calls, oldest first. */
  calls(): Promise<Call[]>;
  /** Writes a file into the host's root; returns its path on this machine. */
  put(path: string, text: string): Promise<string>;
  /** The kubelet unit as the bundle ships it, with ExecStart pointing at `binary`. */
  kubelet(binary?: string): Promise<string>;
}

export interface DoublesCluster {
  dir: string;
  /** The cluster's shared state folder (USTART_DOUBLES_DIR). */
  state: string;
  host(name: string, extraEnv?: Record<string, string>): DoubleHost;
  readState<T>(name: string): Promise<T>;
  writeState(name: string, value: unknown): Promise<void>;
  /** Stops the kubelet double of every host made so far. */
  stopKubelets(): void;
  dispose(): Promise<void>;
}

/**
 * A new cluster in a temporary folder; `from` copies another cluster's folder (hosts' roots
 * and the cluster state) so that tests start from one made once. Copy a cluster whose
 * kubelets are stopped (`stopKubelets`): a copy has no processes.
 */
export async function doublesCluster(from?: DoublesCluster): Promise<DoublesCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-doubles-'));
  if (from) await cp(from.dir, dir, { recursive: true });
  const state = join(dir, 'cluster');
  const made: DoubleHost[] = [];
  const host = (name: string, extraEnv: Record<string, string> = {}): DoubleHost => {
    const root = join(dir, name, 'root');
    const env = {
      ...process.env,
      USTART_DOUBLES_ROOT: root,
      USTART_DOUBLES_DIR: state,
      USTART_DOUBLES_HOST_DIR: join(dir, name, 'host'),
      USTART_DOUBLES_HOSTNAME: name,
      USTART_DOUBLES_SYSTEMCTL: join(BIN, 'systemctl'),
      USTART_DOUBLES_RESET_MS: '400',
      ...extraEnv,
    };
    const put = async (path: string, text: string) => {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
      return join(root, path);
    };
    const h: DoubleHost = {
      name,
      root,
      run: (tool, ...args) => {
        const r = spawnSync(join(BIN, tool), args, { encoding: 'utf8', env });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      },
      start: (tool, ...args) => promisify(execFile)(join(BIN, tool), args, { env }),
      calls: async () =>
        (await readFile(join(state, 'calls.jsonl'), 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Call)
          .filter((c) => c.host === name),
      put,
      kubelet: (binary = join(BIN, 'kubelet')) =>
        put(KUBELET_UNIT, `[Service]\nExecStart=${binary} --config=/var/lib/kubelet/config.yaml\n`),
    };
    made.push(h);
    return h;
  };
  return {
    dir,
    state,
    host,
    readState: async <T>(name: string) =>
      JSON.parse(await readFile(join(state, name), 'utf8')) as T,
    writeState: (name, value) => writeFile(join(state, name), JSON.stringify(value, null, 2)),
    stopKubelets: () => {
      for (const h of made.splice(0)) h.run('systemctl', 'stop', 'kubelet');
    },
    dispose: async () => {
      for (const h of made.splice(0)) h.run('systemctl', 'stop', 'kubelet');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The join material `kubeadm-init.sh` leaves for the other hosts. */
export interface JoinMaterial {
  token: string;
  hash: string;
  key: string;
}

/** A rendered file's text by its render path (`ctl-01/umetal.kubeadm-init/files/…`). */
export type RenderedText = (path: string) => string;

const must = (r: Run, what: string): Run => {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
  return r;
};

/**
 * The first controller initialised as kubeadm-init.sh does it: kube-vip's manifest, the
 * rendered init.yaml (changed by `initText` to try an older render), a token and uploaded
 * certificates.
 */
export async function initFirstController(
  ctl: DoubleHost,
  file: RenderedText,
  initText: (text: string) => string = (t) => t,
): Promise<JoinMaterial & { init: Run }> {
  await ctl.kubelet();
  await ctl.put(
    '/etc/kubernetes/manifests/kube-vip.yaml',
    file(`${ctl.name}/umetal.kubeadm-init/files/etc/kubernetes/manifests/kube-vip.yaml`),
  );
  const config = await ctl.put(
    '/etc/ustart/kubeadm/init.yaml',
    initText(file(`${ctl.name}/umetal.kubeadm-init/files/etc/ustart/kubeadm/init.yaml`)),
  );
  const init = ctl.run('kubeadm', 'init', '--config', config);
  if (init.status !== 0) return { init, token: '', key: '', hash: '' };
  const token = must(
    ctl.run('kubeadm', 'token', 'create', '--ttl', '4h'),
    'token create',
  ).stdout.trim();
  const key = must(
    ctl.run('kubeadm', 'init', 'phase', 'upload-certs', '--upload-certs', '--config', config),
    'upload-certs',
  )
    .stdout.trim()
    .split('\n')
    .at(-1)!;
  return { token, key, hash: `sha256:${'ab'.repeat(32)}`, init };
}

/** A join template with the material filled in, as kubeadm-join.sh does. */
export function filledJoin(template: string, m: JoinMaterial): string {
  return template
    .replace(JOIN_PLACEHOLDERS.token, m.token)
    .replace(JOIN_PLACEHOLDERS.caCertHash, m.hash)
    .replace(JOIN_PLACEHOLDERS.certificateKey, m.key);
}

/** Joins a host with its rendered JoinConfiguration; returns kubeadm's answer. */
export async function joinHost(
  h: DoubleHost,
  file: RenderedText,
  controller: boolean,
  m: JoinMaterial,
): Promise<Run> {
  await h.kubelet();
  const step = controller ? 'umetal.join-controllers' : 'umetal.join-workers';
  const template = file(`${h.name}/${step}/files/etc/ustart/kubeadm/join.yaml`);
  const config = await h.put('/etc/ustart/kubeadm/join.final.yaml', filledJoin(template, m));
  return h.run('kubeadm', 'join', '--config', config);
}

/**
 * A whole cluster as uMetal makes it, up to the node labels: init on the first controller,
 * every other host joined, each node labelled and tainted from the rendered table. Returns
 * the first controller, where the cluster-wide steps run.
 */
export async function uMetalCluster(
  lab: DoublesCluster,
  file: RenderedText,
  servers: readonly { hostname: string; roles: readonly string[] }[],
  initText?: (text: string) => string,
): Promise<{ ctl: DoubleHost; material: JoinMaterial }> {
  const [first, ...rest] = servers;
  const ctl = lab.host(first!.hostname);
  const material = await initFirstController(ctl, file, initText);
  must(material.init, 'kubeadm init');
  for (const s of rest)
    must(
      await joinHost(lab.host(s.hostname), file, s.roles.includes('controller'), material),
      `kubeadm join on ${s.hostname}`,
    );
  const table = file(`${ctl.name}/umetal.node-labels/files/etc/ustart/node-labels.tsv`);
  for (const line of table.split('\n').filter(Boolean)) {
    const [node, labels, taints] = line.split('\t') as [string, string, string];
    must(ctl.run('kubectl', 'label', 'node', node, '--overwrite', ...labels.split(',')), 'label');
    if (taints !== '-')
      must(ctl.run('kubectl', 'taint', 'node', node, '--overwrite', ...taints.split(',')), 'taint');
  }
  return { ctl, material };
}

/** A CA certificate (PEM) made with openssl, as ustack.infra makes the site's root CA. */
export async function makeCaCertificate(): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'ustart-doubles-ca-'));
  try {
    const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'];
    args.push('-subj', '/CN=lab root CA', '-keyout', join(work, 'key'), '-out', join(work, 'crt'));
    await promisify(execFile)('openssl', args);
    return await readFile(join(work, 'crt'), 'utf8');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The Secrets a Keystone leaves as Yaook makes them (docs/upstream-facts.md#yaook.admin-credentials)
 * and the site's root CA, as objects.json entries of the cluster model.
 */
export function keystoneSecrets(password: string, ca: string): Record<string, unknown> {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return {
    'Secret/yaook/keystone-admin': {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'keystone-admin', namespace: 'yaook' },
      data: {
        OS_USERNAME: b64('yaook-sys-maint'),
        OS_PASSWORD: b64(password),
        OS_PROJECT_NAME: b64('admin'),
        OS_USER_DOMAIN_NAME: b64('Default'),
        OS_PROJECT_DOMAIN_NAME: b64('Default'),
      },
    },
    'Secret/yaook/root-ca': {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'root-ca', namespace: 'yaook' },
      data: { 'tls.crt': b64(ca) },
    },
  };
}

/** A clouds.yaml for the admin of keystoneSecrets, trusting the CA in the file `cacert`. */
export function adminClouds(password: string, cacert: string, user = 'yaook-sys-maint'): string {
  return [
    'clouds:',
    '  ustack:',
    '    auth:',
    '      auth_url: https://keystone.lab.example/v3',
    `      username: ${user}`,
    `      password: "${password}"`,
    '      project_name: admin',
    '      user_domain_name: Default',
    '      project_domain_name: Default',
    '    region_name: RegionOne',
    `    cacert: ${cacert}`,
    '',
  ].join('\n');
}

/**
 * A folder for the doubles as one host sees them (`root`: its file system, `state`: the
 * cluster's state), with `put` to write a file into the root and `sh` to run a shell line
 * with the doubles first on PATH, as a step script would.
 */
export function doublesFolder(dir: () => string) {
  const root = () => join(dir(), 'root');
  return {
    root,
    state: () => join(dir(), 'state'),
    async put(path: string, text: string): Promise<string> {
      const full = join(root(), path);
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, text, { mode: 0o600 });
      return full;
    },
    sh(line: string, env: Record<string, string> = {}) {
      const r = spawnSync('bash', ['-c', `set -euo pipefail; ${line}`], {
        encoding: 'utf8',
        env: {
          ...process.env,
          PATH: `${BIN}:${process.env.PATH}`,
          USTART_DOUBLES_ROOT: root(),
          USTART_DOUBLES_DIR: join(dir(), 'state'),
          ...env,
        },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

/** ORC's Image CRD as an objects.json entry: CAPO v0.12 needs it to start (docs/upstream-facts.md#capo.orc). */
export function orcCrdObject(): Record<string, unknown> {
  return {
    'CustomResourceDefinition/default/images.openstack.k-orc.cloud': {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'images.openstack.k-orc.cloud' },
      spec: {
        group: 'openstack.k-orc.cloud',
        names: { kind: 'Image' },
        versions: [{ name: 'v1alpha1' }],
      },
    },
  };
}

/** The floating IP address the test's Neutron gives the workload API. */
export const GARDEN_TEST_API_ADDRESS = '192.0.2.50';

/**
 * openstack.json entries for what a rendered workload cluster references (its external
 * network, its own network and subnet with a router to the external one, the port of the
 * API's virtual IP with the floating IP GARDEN_TEST_API_ADDRESS, each machine template's
 * flavor, image and keypair), as ustack.provider-network and ugarden.openstack-objects leave
 * them in the openstack double.
 */
export function gardenObjectsState(cluster: readonly Record<string, unknown>[]) {
  const os = {
    network: {},
    subnet: {},
    router: {},
    port: {},
    floatingip: {},
    flavor: {},
    image: {},
    keypair: {},
  } as Record<string, Record<string, unknown>>;
  for (const o of cluster) {
    const spec = o.spec as Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (o.kind === 'OpenStackCluster' && spec?.externalNetwork?.filter?.name)
      os.network![spec.externalNetwork.filter.name] = { id: 'ext-net', external: true };
    if (o.kind === 'OpenStackCluster' && spec?.network?.filter?.name) {
      const net = GARDEN_NETWORK;
      os.network![net.network] = { id: 'garden-net', name: net.network, external: false };
      os.subnet![net.subnet] = {
        id: 'garden-subnet',
        name: net.subnet,
        network: net.network,
        network_id: 'garden-net',
        cidr: net.cidr,
        gateway_ip: net.gateway,
        pool: [0, 0],
        used: [],
      };
      os.router![net.router] = {
        id: 'garden-router',
        name: net.router,
        gateway: { network_id: 'ext-net', external_fixed_ips: [], enable_snat: true },
        interfaces: [{ port_id: 'rp', ip_address: net.gateway, subnet_id: 'garden-subnet' }],
      };
      os.port![net.apiPort] = {
        id: 'api-port',
        name: net.apiPort,
        network_id: 'garden-net',
        fixed_ips: [{ subnet_id: 'garden-subnet', ip_address: net.vip }],
      };
      os.floatingip!['api-fip'] = {
        id: 'api-fip',
        floating_ip_address: GARDEN_TEST_API_ADDRESS,
        floating_network_id: 'ext-net',
        port_id: 'api-port',
        fixed_ip_address: net.vip,
      };
    }
    const m = o.kind === 'OpenStackMachineTemplate' ? spec?.template?.spec : undefined;
    if (!m) continue;
    if (m.flavor) os.flavor![m.flavor] = { id: `flavor-${m.flavor}` };
    if (m.image?.filter?.name) os.image![m.image.filter.name] = { id: 'img', status: 'active' };
    if (m.sshKeyName) os.keypair![m.sshKeyName] = { name: m.sshKeyName };
  }
  return os;
}

/** Writes clusterctl.json as `clusterctl init` leaves it with uGarden's four providers. */
export async function writeCapiProviders(stateDir: string): Promise<void> {
  await writeFile(
    join(stateDir, 'clusterctl.json'),
    JSON.stringify({
      providers: [
        { name: 'cluster-api', type: 'CoreProvider' },
        { name: 'kubeadm', type: 'BootstrapProvider' },
        { name: 'kubeadm', type: 'ControlPlaneProvider' },
        { name: 'openstack', type: 'InfrastructureProvider' },
      ],
    }),
  );
}
