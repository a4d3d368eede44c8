/**
 * The workload cluster's API endpoint as CAPO v0.12.2 and Neutron make it, for cluster.mjs:
 * the network CAPO puts the machines on, where the endpoint comes from, and whether anything
 * answers there, also after the first control-plane VM has failed
 * (docs/ugarden-workload-cluster.md, "The API endpoint").
 *
 * - CAPO uses an existing network and subnets when there are no managedSubnets, and fails the
 *   cluster when a filter finds none or several (docs/upstream-facts.md#capo.pre-existing-network).
 * - The endpoint is, in this order: the Octavia load balancer; `spec.controlPlaneEndpoint` when
 *   set; else a floating IP CAPO creates and puts on the first control-plane VM's port, which
 *   it never moves to another VM (docs/upstream-facts.md#capo.endpoint, #capo.api-lb).
 * - A given endpoint answers when it is a floating IP associated with a port whose address a
 *   control-plane VM holds: Neutron's port security lets a VM answer for another address only
 *   when its port lists it as an allowed address pair (docs/upstream-facts.md#neutron.allowed-address-pairs),
 *   and kube-vip, a static Pod from the KubeadmControlPlane's files, must announce it. kube-vip
 *   on the machine that runs `kubeadm init` needs super-admin.conf, and on joining machines
 *   admin.conf, the only one `kubeadm join` writes (docs/upstream-facts.md#kube-vip.super-admin);
 *   which one it mounts is decided by the pre-kubeadm commands, which this runs as cloud-init
 *   would, after the files are written (docs/upstream-facts.md#capi.bootstrap-files).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

/** Why CAPO cannot find the OpenStackCluster's own network or subnets, or undefined. */
export function clusterNetworkProblem(os, infra) {
  if ((infra.spec.managedSubnets ?? []).length > 0) return undefined;
  const networks = Object.values(os.network ?? {});
  const net = infra.spec.network;
  let network;
  if (net) {
    const hits = networks.filter((n) => (net.id ? n.id === net.id : n.name === net.filter?.name));
    const copies = hits.reduce((sum, n) => sum + (n.copies ?? 1), 0);
    if (copies !== 1)
      return `error fetching cluster network: failed to find network: filter matched ${copies === 0 ? 'no resources' : 'more than one resource'}`;
    network = hits[0];
  }
  for (const param of infra.spec.subnets ?? []) {
    const hits = Object.values(os.subnet ?? {}).filter((s) =>
      param.id ? s.id === param.id : s.name === param.filter?.name,
    );
    if (hits.length !== 1)
      return `failed to find subnet: filter matched ${hits.length === 0 ? 'no resources' : 'more than one resource'}`;
    if (network && hits[0].network_id !== network.id)
      return `subnet ${hits[0].name} is not on the cluster network ${network.name}`;
  }
  if (!net && !(infra.spec.subnets ?? []).length)
    return 'OpenStackCluster names no managedSubnets, no network and no subnets: CAPO has no network for the machines';
  return undefined;
}

/**
 * Where the endpoint of a cluster comes from: `lb`, `given` (with its host), or `machine-fip`
 * (CAPO's floating IP on the first control-plane VM), or a problem.
 */
export function endpointSource(infra) {
  if (infra.spec.apiServerLoadBalancer && infra.spec.apiServerLoadBalancer.enabled !== false)
    return { source: 'lb' };
  const given = infra.spec.controlPlaneEndpoint;
  if (given?.host && given.port) return { source: 'given', host: given.host, port: given.port };
  if (!infra.spec.disableAPIServerFloatingIP && !infra.spec.disableExternalNetwork)
    return { source: 'machine-fip' };
  if (infra.spec.apiServerFixedIP)
    return {
      problem: `the endpoint is the fixed IP ${infra.spec.apiServerFixedIP} on the workload network, which the management cluster does not share: Cluster API cannot reach it`,
    };
  return { problem: 'unable to determine control plane endpoint' };
}

/** The kube-vip static Pod among a KubeadmConfigSpec's files, parsed, with its path. */
function kubeVipFile(spec) {
  for (const f of spec.files ?? []) {
    let pod;
    try {
      pod = parse(f.content ?? '');
    } catch {
      continue;
    }
    const container = pod?.kind === 'Pod' ? pod.spec?.containers?.[0] : undefined;
    if (container && /\/kube-vip:/.test(container.image ?? '')) return { file: f, pod };
  }
  return undefined;
}

/** The host kubeconfig a kube-vip Pod mounts at /etc/kubernetes/admin.conf. */
function mountedKubeconfig(pod) {
  const mount = pod.spec.containers[0].volumeMounts?.find(
    (m) => m.mountPath === '/etc/kubernetes/admin.conf',
  );
  return pod.spec.volumes?.find((v) => v.name === mount?.name)?.hostPath?.path;
}

/**
 * The kube-vip manifest a control-plane machine has when kubeadm runs: the KubeadmConfigSpec's
 * files written, the bootstrap file of `init` or `join` in /run/kubeadm, then the
 * preKubeadmCommands, all under a scratch root instead of /.
 */
function kubeVipAtKubeadm(spec, file, mode) {
  const root = mkdtempSync(join(tmpdir(), 'capo-machine-'));
  // The machine's files live under root: every mention of one of their paths is moved there,
  // in one pass, and nothing else (a sed expression naming another file stays as it is).
  const paths = [
    ...(spec.files ?? []).map((f) => f.path),
    '/run/kubeadm/kubeadm.yaml',
    '/run/kubeadm/kubeadm-join-config.yaml',
  ].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(
    paths.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
    'g',
  );
  const under = (text) => text.replace(pattern, (p) => `${root}${p}`);
  try {
    for (const f of spec.files ?? []) {
      mkdirSync(dirname(under(f.path)), { recursive: true });
      writeFileSync(under(f.path), f.content ?? '');
    }
    const bootstrap = `${root}/run/kubeadm/${mode === 'init' ? 'kubeadm.yaml' : 'kubeadm-join-config.yaml'}`;
    mkdirSync(dirname(bootstrap), { recursive: true });
    writeFileSync(bootstrap, '');
    for (const command of spec.preKubeadmCommands ?? [])
      execFileSync('bash', ['-c', under(command)], { stdio: 'ignore' });
    return parse(readFileSync(under(file.path), 'utf8'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Why nothing answers on a given endpoint, or undefined: `host` must be a floating IP on a
 * port whose address the control-plane machines hold (allowed address pair) and announce
 * (kube-vip, with the kubeconfig it can use at init and at join).
 */
export function givenEndpointProblem(os, host, kcp, cpTemplate) {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(host))
    return `the control-plane endpoint ${host} is not an address: Cluster API cannot reach https://${host}:6443`;
  const fip = Object.values(os.floatingip ?? {}).find((f) => f.floating_ip_address === host);
  if (!fip)
    return `the control-plane endpoint ${host} is no floating IP in uStack: nothing answers there`;
  if (!fip.port_id)
    return `the floating IP ${host} is associated with no port: nothing answers there`;
  const vip = fip.fixed_ip_address;
  const pairs = (cpTemplate?.spec?.template?.spec?.ports ?? []).flatMap(
    (p) => p.allowedAddressPairs ?? [],
  );
  if (!pairs.some((p) => p.ipAddress === vip))
    return `the control-plane machines' ports do not allow the address ${vip} (no allowed address pair): Neutron's port security drops what they answer for the floating IP ${host}`;
  const spec = kcp.spec.kubeadmConfigSpec ?? {};
  const found = kubeVipFile(spec);
  const env = Object.fromEntries(
    (found?.pod.spec.containers[0].env ?? []).map((e) => [e.name, e.value]),
  );
  if (!found || !found.file.path.startsWith('/etc/kubernetes/manifests/'))
    return `no kube-vip static Pod in the KubeadmControlPlane's files: nothing on the control-plane machines holds ${vip}, the address behind ${host}`;
  if (env.address !== vip || env.cp_enable !== 'true' || env.vip_arp !== 'true')
    return `kube-vip on the control-plane machines announces ${env.address ?? 'no address'} (cp_enable ${env.cp_enable}, vip_arp ${env.vip_arp}), not ${vip}, the address behind ${host}`;
  const init = mountedKubeconfig(kubeVipAtKubeadm(spec, found.file, 'init'));
  if (init !== '/etc/kubernetes/super-admin.conf')
    return `kube-vip on the machine that runs kubeadm init mounts ${init}: it cannot take its lease before kubeadm grants admin.conf its rights, so ${vip} never comes up and kubeadm init waits for the API in vain`;
  const join = mountedKubeconfig(kubeVipAtKubeadm(spec, found.file, 'join'));
  if (join !== '/etc/kubernetes/admin.conf')
    return `kube-vip on joining control-plane machines mounts ${join}, which kubeadm join does not write: its Pod never starts there, and ${vip} cannot move to them`;
  return undefined;
}

/**
 * Why the API no longer answers once the first control-plane VM has failed, or undefined:
 * CAPO's own floating IP stays on that VM's port (docs/upstream-facts.md#capo.api-lb); a
 * load balancer or kube-vip's address moves on to the other machines.
 */
export function endpointLostWithFirstMachine(infra, kcp) {
  const { source } = endpointSource(infra);
  if (source !== 'machine-fip') return undefined;
  if ((kcp.spec.replicas ?? 1) < 2) return 'the only control-plane machine failed';
  return "the API's floating IP was on the first control-plane VM's port, and CAPO does not move it to another control-plane VM: the workload cluster's API is unreachable";
}
