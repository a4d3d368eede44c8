/**
 * kubeadm test double: validates the configuration files and flags the runbook gives it,
 * keeps the order kubeadm enforces (init once, join only with material from an init, no
 * second join), makes the files later steps look for, and records every call.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import {
  at,
  keys,
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

const initialised = () => existsSync(at('/etc/kubernetes/admin.conf'));
const token = () => `${randomBytes(3).toString('hex')}.${randomBytes(8).toString('hex')}`;

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
    ],
  );
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
  const t = token();
  writeState('kubeadm.json', { tokens: [t], node: initCfg.nodeRegistration.name });
  process.stdout.write(
    `Your Kubernetes control-plane has initialized successfully!\n\nkubeadm join ${cluster.controlPlaneEndpoint} --token ${t} \\\n\t--discovery-token-ca-cert-hash sha256:<hash>\n`,
  );
  return {
    token: t,
    endpoint: cluster.controlPlaneEndpoint,
    podSubnet: cluster.networking.podSubnet,
    serviceSubnet: cluster.networking.serviceSubnet,
    node: initCfg.nodeRegistration.name,
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
  writeFile(
    '/etc/kubernetes/kubelet.conf',
    `apiVersion: v1\nkind: Config\n# joined ${bt.apiServerEndpoint}\n`,
  );
  if (j.controlPlane) writeFile('/etc/kubernetes/admin.conf', `apiVersion: v1\nkind: Config\n`);
  return {
    token: bt.token,
    caCertHash: bt.caCertHashes[0],
    endpoint: bt.apiServerEndpoint,
    controlPlane: Boolean(j.controlPlane),
    certificateKey: j.controlPlane?.certificateKey,
    node: j.nodeRegistration.name,
  };
}

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
    writeState('kubeadm.json', { ...readState('kubeadm.json', {}), certificateKey: key });
    process.stdout.write(
      `[upload-certs] Storing the certificates in Secret "kubeadm-certs"\n[upload-certs] Using certificate key:\n${key}\n`,
    );
    return { certificateKey: key };
  }
  if (command === 'init') return init(parseFlags(argv.slice(1), ['config']).flags);
  if (command === 'join') return join(parseFlags(argv.slice(1), ['config']).flags);
  if (command === 'token' && sub === 'create') {
    parseFlags(argv.slice(2), ['ttl']);
    if (!initialised()) refuse('token create before init: there is no cluster');
    const state = readState('kubeadm.json', { tokens: [] });
    const t = token();
    writeState('kubeadm.json', { ...state, tokens: [...state.tokens, t] });
    process.stdout.write(`${t}\n`);
    return { token: t };
  }
  if (command === 'token' && sub === 'list') {
    parseFlags(argv.slice(2), ['o', 'output']);
    if (!initialised()) refuse('token list before init: there is no cluster');
    for (const t of readState('kubeadm.json', { tokens: [] }).tokens)
      process.stdout.write(`${t}\n`);
    return undefined;
  }
  if (command === 'reset') {
    const { flags } = parseFlags(argv.slice(1), ['force!', 'f!', 'cri-socket']);
    if (!flags.get('force') && !flags.get('f'))
      refuse('reset without --force would ask on a terminal');
    for (const p of ['/etc/kubernetes', '/var/lib/kubelet', '/var/lib/etcd'])
      rmSync(at(p), { recursive: true, force: true });
    writeState('kubeadm.json', { tokens: [] });
    return undefined;
  }
  refuse(`this double does not know "kubeadm ${argv.join(' ')}"`, 2);
});
