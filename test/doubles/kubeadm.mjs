/**
 * kubeadm test double: validates the configuration files and flags the runbook gives it,
 * keeps the order kubeadm enforces (init once, join only with material from an init, no
 * second join), makes the files later steps look for, and records every call.
 *
 * It keeps what the real cluster keeps behind its API in the doubles' cluster state
 * (USTART_DOUBLES_DIR, one folder for all hosts in the uMetal lab): the nodes it registers
 * with kubeadm's labels and taints, bootstrap tokens with their expiry, the uploaded
 * control-plane certificates with theirs, the etcd members, and the ClusterConfiguration.
 * Each rule cites the row of docs/upstream-facts.md it is derived from.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  at,
  keys,
  locked,
  parseFlags,
  readState,
  refuse,
  runDouble,
  writeFile,
  writeState,
  yamlDocuments,
} from './lib.mjs';

const API = 'kubeadm.k8s.io/v1beta4';
const VERSION = process.env.USTART_DOUBLES_K8S_VERSION ?? '1.31.4';
const TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const NODE_REGISTRATION = ['name', 'criSocket', 'imagePullPolicy', 'kubeletExtraArgs', 'taints'];
/** docs/upstream-facts.md#kubeadm.cp-taint */
const CONTROL_PLANE_TAINT = 'node-role.kubernetes.io/control-plane:NoSchedule';
/** docs/upstream-facts.md#kubeadm.cp-labels */
const CONTROL_PLANE_LABELS = {
  'node-role.kubernetes.io/control-plane': '',
  'node.kubernetes.io/exclude-from-external-load-balancers': '',
};
/** docs/upstream-facts.md#kubeadm.cert-key-ttl: the kubeadm-certs Secret lives 2 hours. */
const CERTS_TTL_MS = 2 * 3600 * 1000;
/** docs/upstream-facts.md#kubeadm.token-ttl */
const DEFAULT_TOKEN_TTL = '24h';
/** docs/upstream-facts.md#kubeadm.images: the images kubeadm 1.31 runs, beside its own version's. */
const IMAGE_TAGS = { etcd: '3.5.15-0', coredns: 'v1.11.3', pause: '3.10' };
const DEFAULT_REPOSITORY = 'registry.k8s.io';
/** How long kubeadm's kubelet-check waits here for the kubelet (kubeadm waits 4 minutes). */
const KUBELET_WAIT_MS = Number(process.env.USTART_DOUBLES_KUBELET_WAIT_MS ?? 10_000);
const SYSTEMCTL = process.env.USTART_DOUBLES_SYSTEMCTL ?? 'systemctl';

/** This host's node name: the lab host's name (the hostname step sets it from the plan). */
const NODE = process.env.USTART_DOUBLES_HOSTNAME ?? hostname();

const initialised = () => existsSync(at('/etc/kubernetes/admin.conf'));
const token = () => `${randomBytes(3).toString('hex')}.${randomBytes(8).toString('hex')}`;
const state = () => readState('kubeadm.json', { tokens: [] });

/** `4h`, `30m`, `90s`, `1h30m`, `0` (never expires) in milliseconds; Infinity for 0. */
function duration(text) {
  if (text === '0' || text === '0s') return Infinity;
  const parts = [...String(text).matchAll(/(\d+)(h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text)
    refuse(`invalid duration "${text}"`);
  return parts.reduce((ms, [, n, u]) => ms + Number(n) * { h: 3600e3, m: 60e3, s: 1e3 }[u], 0);
}

/** Tokens as `{ token, expires }`; older state kept bare strings (never expiring). */
const tokensOf = (st) =>
  (st.tokens ?? []).map((t) => (typeof t === 'string' ? { token: t, expires: Infinity } : t));
const live = (st, now = Date.now()) =>
  tokensOf(st).filter((t) => t.expires === null || t.expires === Infinity || t.expires > now);

/** docs/upstream-facts.md#kubeadm.images, #kubeadm.dns-image */
function requiredImages(cluster, controlPlane) {
  const repo = cluster.imageRepository ?? DEFAULT_REPOSITORY;
  const v = cluster.kubernetesVersion;
  const dnsBase = cluster.dns?.imageRepository ?? repo;
  const dnsRepo = dnsBase === DEFAULT_REPOSITORY ? `${dnsBase}/coredns` : dnsBase;
  const images = [`${repo}/kube-proxy:${v}`, `${repo}/pause:${IMAGE_TAGS.pause}`];
  if (controlPlane)
    images.push(
      `${repo}/kube-apiserver:${v}`,
      `${repo}/kube-controller-manager:${v}`,
      `${repo}/kube-scheduler:${v}`,
      `${repo}/etcd:${IMAGE_TAGS.etcd}`,
      `${dnsRepo}/coredns:${cluster.dns?.imageTag ?? IMAGE_TAGS.coredns}`,
    );
  return images;
}

/**
 * The CRI's registry hosts folder: containerd's `config_path`
 * (docs/upstream-facts.md#registry-containerd-config-path), or none.
 */
function criHostsDir() {
  const file = at('/etc/containerd/config.toml');
  if (!existsSync(file)) return undefined;
  return /^\s*config_path\s*=\s*"([^"]+)"/m.exec(readFileSync(file, 'utf8'))?.[1];
}

/**
 * Whether the images kubeadm's control plane runs are there. With imagePullPolicy Never,
 * kubeadm's preflight skips images altogether and a missing one shows only when the kubelet
 * cannot start the static Pod (ErrImageNeverPull) and init times out waiting for the API
 * server (docs/upstream-facts.md#kubeadm.pull-never); with IfNotPresent, preflight pulls each
 * missing image through the CRI (#kubeadm.preflight-pull), so through containerd's
 * `hosts.toml` mirrors when `config_path` is set: the double pulls with `ctr --hosts-dir`,
 * the resolver the CRI uses (#registry-ctr-hosts-dir). Without mirrors the pull goes to the
 * upstream registry, which the lab (no route out) cannot reach. Asks the host's containerd
 * (`ctr`); where there is none (the doubles run on this machine in a temporary folder) it
 * says so in what it records.
 */
function checkImages(images, policy) {
  const r = spawnSync('ctr', ['-n', 'k8s.io', 'images', 'ls', '-q'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return false;
  const present = new Set(r.stdout.split('\n'));
  let missing = images.filter((i) => !present.has(i));
  if (missing.length === 0) return true;
  if (policy === 'Never')
    refuse(
      `[api-check] The API server is not healthy after 4m0s: the kubelet cannot start the control plane's static Pods (ErrImageNeverPull): ${missing.map((i) => `image ${i} is not present with pull policy of Never`).join('; ')}`,
    );
  const hostsDir = criHostsDir();
  const failed = [];
  // Serially, as kubeadm 1.31 pulls by default (#kubeadm.pull-never).
  for (const i of missing) {
    const pull = spawnSync(
      'ctr',
      ['-n', 'k8s.io', 'images', 'pull', ...(hostsDir ? ['--hosts-dir', hostsDir] : []), i],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (pull.status !== 0)
      failed.push(
        `failed to pull image ${i}: ${(pull.stderr || pull.error?.message || '').trim().split('\n').at(-1)}`,
      );
  }
  missing = failed;
  if (missing.length === 0) return true;
  refuse(
    `[preflight] Some fatal errors occurred:\n${missing.map((m) => `\t[ERROR ImagePull]: ${m}`).join('\n')}`,
  );
}

/**
 * kubeadm's kubelet-start phase (docs/upstream-facts.md#kubeadm.kubelet-start): writes the
 * kubelet's configuration, restarts it through systemd and waits for it to be healthy. The
 * kubelet double writes its health file once it runs; a unit pointing at a binary that is
 * not there never does.
 */
function startKubelet(kubeletConfig) {
  writeFile('/var/lib/kubelet/config.yaml', kubeletConfig, 0o644);
  writeFile('/var/lib/kubelet/kubeadm-flags.env', 'KUBELET_KUBEADM_ARGS=""\n', 0o644);
  const healthz = at('/run/ustart-doubles/kubelet.healthz');
  rmSync(healthz, { force: true });
  const r = spawnSync(SYSTEMCTL, ['restart', 'kubelet'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    refuse(`[kubelet-start] could not restart the kubelet: ${r.error?.message ?? r.stderr}`);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + KUBELET_WAIT_MS;
  while (!existsSync(healthz)) {
    if (Date.now() > deadline)
      refuse(
        '[kubelet-check] The kubelet is not healthy: it is not running, or its unit points at a binary that does not exist (systemctl status kubelet; journalctl -xeu kubelet)',
      );
    Atomics.wait(pause, 0, 0, 50);
  }
}

/** The node as the API server would have it after kubeadm registers it. */
function register(st, nodeRegistration, controlPlane) {
  const nodes = readState('nodes-meta.json', {});
  const taints =
    nodeRegistration.taints === undefined || nodeRegistration.taints === null
      ? controlPlane
        ? [CONTROL_PLANE_TAINT]
        : []
      : nodeRegistration.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`);
  nodes[nodeRegistration.name] = {
    // The kubelet labels its Node with its host name; kubeadm's node name is uStart's
    // hostname (docs/upstream-facts.md#k8s-hostname-label).
    labels: {
      'kubernetes.io/hostname': nodeRegistration.name,
      ...(controlPlane ? CONTROL_PLANE_LABELS : {}),
    },
    taints,
  };
  writeState('nodes-meta.json', nodes);
  if (controlPlane)
    st.etcdMembers = [...new Set([...(st.etcdMembers ?? []), nodeRegistration.name])];
  return taints;
}

function checkNodeRegistration(n, where) {
  keys(n, where, ['name', 'criSocket'], NODE_REGISTRATION);
  if (!String(n.criSocket).startsWith('unix:///'))
    refuse(`${where}.criSocket must be a unix:/// socket`);
  for (const a of n.kubeletExtraArgs ?? [])
    keys(a, `${where}.kubeletExtraArgs[]`, ['name', 'value']);
}

function init(flags) {
  const docs = yamlDocuments(flags.get('config'));
  const byKind = Object.fromEntries(docs.map((d) => [d.kind, d]));
  const initCfg = byKind.InitConfiguration;
  const cluster = byKind.ClusterConfiguration;
  if (!initCfg || !cluster)
    refuse('the config needs an InitConfiguration and a ClusterConfiguration');
  for (const d of [initCfg, cluster])
    if (d.apiVersion !== API) refuse(`${d.kind} must be ${API}, not ${d.apiVersion}`);
  keys(initCfg, 'InitConfiguration', [
    'apiVersion',
    'kind',
    'localAPIEndpoint',
    'nodeRegistration',
  ]);
  checkNodeRegistration(initCfg.nodeRegistration, 'InitConfiguration.nodeRegistration');
  keys(
    cluster,
    'ClusterConfiguration',
    ['apiVersion', 'kind', 'kubernetesVersion', 'controlPlaneEndpoint', 'networking'],
    [
      'apiVersion',
      'kind',
      'clusterName',
      'kubernetesVersion',
      'controlPlaneEndpoint',
      'imageRepository',
      'networking',
      'apiServer',
      'controllerManager',
      'scheduler',
      'etcd',
      'dns',
    ],
  );
  for (const c of ['apiServer', 'controllerManager', 'scheduler'])
    for (const a of cluster[c]?.extraArgs ?? []) keys(a, `${c}.extraArgs[]`, ['name', 'value']);
  for (const a of cluster.etcd?.local?.extraArgs ?? [])
    keys(a, 'etcd.local.extraArgs[]', ['name', 'value']);
  if (cluster.kubernetesVersion !== `v${VERSION}`)
    refuse(`kubernetesVersion ${cluster.kubernetesVersion} is not this kubeadm's v${VERSION}`);
  if (!/^[0-9.]+:6443$/.test(cluster.controlPlaneEndpoint))
    refuse(`controlPlaneEndpoint ${cluster.controlPlaneEndpoint} is not IP:6443`);
  for (const k of ['podSubnet', 'serviceSubnet']) {
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cluster.networking?.[k] ?? ''))
      refuse(`networking.${k} is not a CIDR`);
  }
  const kubelet = byKind.KubeletConfiguration;
  if (kubelet && kubelet.cgroupDriver !== 'systemd')
    refuse('KubeletConfiguration.cgroupDriver must be systemd (containerd uses systemd cgroups)');
  if (initialised())
    refuse(
      '/etc/kubernetes/admin.conf already exists: this node is initialised (kubeadm reset first)',
    );
  if (!existsSync(at('/etc/kubernetes/manifests/kube-vip.yaml'))) {
    refuse(
      `nothing serves the control-plane endpoint ${cluster.controlPlaneEndpoint}: no kube-vip manifest in /etc/kubernetes/manifests`,
    );
  }
  const imagesChecked = checkImages(
    requiredImages(cluster, true),
    initCfg.nodeRegistration.imagePullPolicy,
  );
  startKubelet(
    `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: ${kubelet?.cgroupDriver ?? 'systemd'}\n`,
  );
  mkdirSync(at('/etc/kubernetes/pki'), { recursive: true });
  const ca = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=kubernetes',
      '-keyout',
      at('/etc/kubernetes/pki/ca.key'),
      '-out',
      at('/etc/kubernetes/pki/ca.crt'),
    ],
    { stdio: 'ignore' },
  );
  if (ca.status !== 0) refuse('openssl could not make the CA (the double needs openssl)');
  const kubeconfig = `apiVersion: v1\nkind: Config\nclusters:\n- name: ${cluster.clusterName}\n  cluster:\n    server: https://${cluster.controlPlaneEndpoint}\n`;
  for (const f of ['admin.conf', 'super-admin.conf', 'kubelet.conf'])
    writeFile(`/etc/kubernetes/${f}`, kubeconfig);
  // kubeadm init makes a bootstrap token of the default lifetime.
  const t = token();
  const st = { tokens: [{ token: t, expires: Date.now() + duration(DEFAULT_TOKEN_TTL) }] };
  st.node = initCfg.nodeRegistration.name;
  st.cluster = cluster;
  const taints = register(st, initCfg.nodeRegistration, true);
  writeState('kubeadm.json', st);
  process.stdout.write(
    `Your Kubernetes control-plane has initialized successfully!\n\nkubeadm join ${cluster.controlPlaneEndpoint} --token ${t} \\\n\t--discovery-token-ca-cert-hash sha256:<hash>\n`,
  );
  return {
    token: t,
    endpoint: cluster.controlPlaneEndpoint,
    podSubnet: cluster.networking.podSubnet,
    serviceSubnet: cluster.networking.serviceSubnet,
    node: initCfg.nodeRegistration.name,
    taints,
    imagesChecked,
  };
}

function join(flags) {
  const docs = yamlDocuments(flags.get('config'));
  if (docs.length !== 1 || docs[0].kind !== 'JoinConfiguration')
    refuse('the config must be one JoinConfiguration');
  const j = docs[0];
  if (j.apiVersion !== API) refuse(`JoinConfiguration must be ${API}`);
  keys(
    j,
    'JoinConfiguration',
    ['apiVersion', 'kind', 'discovery', 'nodeRegistration'],
    ['apiVersion', 'kind', 'discovery', 'nodeRegistration', 'controlPlane'],
  );
  checkNodeRegistration(j.nodeRegistration, 'JoinConfiguration.nodeRegistration');
  const bt = j.discovery?.bootstrapToken;
  keys(bt, 'discovery.bootstrapToken', ['apiServerEndpoint', 'token', 'caCertHashes']);
  if (JSON.stringify(j).includes('@@'))
    refuse('the config still holds @@placeholders@@: the join material was not filled in');
  if (!TOKEN.test(bt.token)) refuse(`discovery token "${bt.token}" is not a bootstrap token`);
  if (!bt.caCertHashes.every((h) => /^sha256:[0-9a-f]{64}$/.test(h)))
    refuse('caCertHashes must be sha256:<64 hex>');
  if (j.controlPlane) {
    keys(j.controlPlane, 'controlPlane', ['localAPIEndpoint', 'certificateKey']);
    if (!/^[0-9a-f]{64}$/.test(j.controlPlane.certificateKey))
      refuse('controlPlane.certificateKey must be 64 hex digits');
  }
  if (existsSync(at('/etc/kubernetes/kubelet.conf')))
    refuse('/etc/kubernetes/kubelet.conf already exists: this node has joined');
  const st = state();
  if (!st.cluster) refuse(`could not reach the API server at ${bt.apiServerEndpoint}: no cluster`);
  // docs/upstream-facts.md#kubeadm.token-ttl: an expired token is deleted with its Secret.
  if (!live(st).some((t) => t.token === bt.token))
    refuse(
      'error execution phase preflight: couldn\'t validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "' +
        bt.token.split('.')[0] +
        '" (the token does not exist or has expired)',
    );
  let imagesChecked = false;
  if (j.controlPlane) {
    // docs/upstream-facts.md#kubeadm.cert-key-ttl
    const certs = st.certs;
    const expired = certs && Date.now() - certs.uploadedAt > CERTS_TTL_MS;
    if (!certs || expired)
      refuse(
        'error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one',
      );
    if (certs.certificateKey !== j.controlPlane.certificateKey)
      refuse(
        'error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: cipher: message authentication failed',
      );
    imagesChecked = checkImages(
      requiredImages(st.cluster, true),
      j.nodeRegistration.imagePullPolicy,
    );
  }
  startKubelet('apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n');
  writeFile(
    '/etc/kubernetes/kubelet.conf',
    `apiVersion: v1\nkind: Config\n# joined ${bt.apiServerEndpoint}\n`,
  );
  if (j.controlPlane) writeFile('/etc/kubernetes/admin.conf', `apiVersion: v1\nkind: Config\n`);
  const taints = register(st, j.nodeRegistration, Boolean(j.controlPlane));
  writeState('kubeadm.json', st);
  return {
    token: bt.token,
    caCertHash: bt.caCertHashes[0],
    endpoint: bt.apiServerEndpoint,
    controlPlane: Boolean(j.controlPlane),
    certificateKey: j.controlPlane?.certificateKey,
    node: j.nodeRegistration.name,
    taints,
    imagesChecked,
  };
}

/**
 * kubeadm reset (docs/upstream-facts.md#kubeadm.reset-etcd): on a control-plane node it
 * first removes the node's etcd member through the etcd API. etcd takes one membership
 * change at a time and, with strict reconfiguration checks, refuses a removal that leaves
 * too few started members (docs/upstream-facts.md#etcd.strict-reconfig-check). Two control-plane
 * nodes reset at once: the first has stopped its member's containers while its removal is
 * still being applied, so the second cannot remove its own. The double models the window:
 * a control-plane reset marks itself in progress, tears the node down (the time kubeadm takes
 * to stop the static pods, USTART_DOUBLES_RESET_MS) and only then leaves the membership.
 */
function reset(flags, host) {
  if (!flags.get('force') && !flags.get('f'))
    refuse('reset without --force would ask on a terminal');
  const st = state();
  const member = (st.etcdMembers ?? []).includes(host);
  if (!member) return { member };
  const others = (st.resetting ?? []).filter((h) => h !== host);
  if (others.length) {
    // kubeadm only warns and goes on: the member stays in the cluster's list while its data
    // is wiped (docs/upstream-facts.md#kubeadm.reset-etcd).
    process.stderr.write(
      `[reset] Failed to remove etcd member: etcdserver: re-configuration failed due to not enough started members (${others.join(', ')} ${others.length > 1 ? 'are' : 'is'} being reset at the same time), please manually remove this etcd member using etcdctl\n`,
    );
    return { member, memberLeft: true };
  }
  st.resetting = [host];
  writeState('kubeadm.json', st);
  return { member, removing: true };
}

function resetDone(host, removed) {
  const st = state();
  st.resetting = (st.resetting ?? []).filter((h) => h !== host);
  if (removed) st.etcdMembers = (st.etcdMembers ?? []).filter((h) => h !== host);
  // The last member gone, the cluster is gone with it.
  if (!(st.etcdMembers ?? []).length)
    Object.assign(st, { tokens: [], cluster: undefined, certs: undefined });
  writeState('kubeadm.json', st);
  const nodes = readState('nodes-meta.json', {});
  delete nodes[host];
  writeState('nodes-meta.json', nodes);
}

const RESET_MS = Number(process.env.USTART_DOUBLES_RESET_MS ?? 1500);
let resetting;

runDouble('kubeadm', (argv) => {
  const [command, sub, third] = argv;
  if (command === 'version') {
    parseFlags(argv.slice(1), ['o', 'output']);
    process.stdout.write(`v${VERSION}\n`);
    return undefined;
  }
  if (command === 'init' && sub === 'phase' && third === 'upload-certs') {
    const { flags } = parseFlags(argv.slice(3), ['upload-certs!', 'config']);
    if (!flags.get('upload-certs')) refuse('upload-certs needs --upload-certs');
    if (!initialised()) refuse('upload-certs before init: there is no cluster');
    const key = randomBytes(32).toString('hex');
    // docs/upstream-facts.md#kubeadm.cert-key-ttl, #kubeadm.upload-certs-output
    writeState('kubeadm.json', {
      ...state(),
      certs: { certificateKey: key, uploadedAt: Date.now() },
    });
    process.stdout.write(
      `[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n[upload-certs] Using certificate key:\n${key}\n`,
    );
    return { certificateKey: key };
  }
  if (command === 'init') return init(parseFlags(argv.slice(1), ['config']).flags);
  if (command === 'join') return join(parseFlags(argv.slice(1), ['config']).flags);
  if (command === 'token' && sub === 'create') {
    const { flags } = parseFlags(argv.slice(2), ['ttl']);
    if (!initialised()) refuse('token create before init: there is no cluster');
    const st = state();
    const t = token();
    const ttl = flags.get('ttl') ?? DEFAULT_TOKEN_TTL;
    const expires = Date.now() + duration(ttl);
    st.tokens = [...tokensOf(st), { token: t, expires: Number.isFinite(expires) ? expires : null }];
    writeState('kubeadm.json', st);
    process.stdout.write(`${t}\n`);
    return { token: t, ttl };
  }
  if (command === 'token' && sub === 'list') {
    const { flags } = parseFlags(argv.slice(2), ['o', 'output']);
    if (!initialised()) refuse('token list before init: there is no cluster');
    const output = String(flags.get('o') ?? flags.get('output') ?? '');
    for (const t of live(state())) {
      const expires = t.expires
        ? new Date(t.expires).toISOString().replace(/\.\d+Z$/, 'Z')
        : '<forever>';
      process.stdout.write(output.includes('expires') ? `${t.token} ${expires}\n` : `${t.token}\n`);
    }
    return undefined;
  }
  if (command === 'reset') {
    const { flags } = parseFlags(argv.slice(1), ['force!', 'f!', 'cri-socket']);
    resetting = reset(flags, NODE);
    return resetting;
  }
  refuse(`this double does not know "kubeadm ${argv.join(' ')}"`, 2);
});

if (resetting) {
  // cleanup-node: the static pods stop and kubeadm's folders go, outside the state lock so
  // that another host's reset running at the same time sees this one in progress.
  if (resetting.member) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RESET_MS);
  for (const p of ['/etc/kubernetes', '/var/lib/kubelet', '/var/lib/etcd'])
    rmSync(at(p), { recursive: true, force: true });
  locked(() => resetDone(NODE, Boolean(resetting.removing)));
}
