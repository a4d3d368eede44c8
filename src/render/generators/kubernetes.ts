/**
 * Kubernetes on uMetal: containerd's configuration, the kubeadm configurations (v1beta4),
 * the kube-vip static pod that serves the control-plane VIP, node labels and taints, and the
 * CNI's values. Built as objects and stringified, never pasted together as text.
 */
import { providerUplink } from '../../plan/host-links.js';
import type { Role } from '../../plan/schema.js';
import type { HostContext } from '../context.js';
import { bomImage, bomRepository } from '../bom.js';
import { toYaml, toYamlDocuments } from '../yaml.js';
import { CONTAINERD_CERTS_D } from './site-registry.js';

export const KUBEADM_API = 'kubeadm.k8s.io/v1beta4';
const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';
export const PAUSE_IMAGE = bomImage('pause');
export const KUBE_VIP_IMAGE = bomImage('kube-vip');

/** Placeholders the join script replaces with the join material read from its input file. */
export const JOIN_PLACEHOLDERS = {
  token: '@@KUBEADM_TOKEN@@',
  caCertHash: '@@KUBEADM_CA_CERT_HASH@@',
  certificateKey: '@@KUBEADM_CERTIFICATE_KEY@@',
} as const;

/**
 * containerd 1.7 config (version 2): systemd cgroups, the pause image the kubelet expects; on
 * an air-gapped site `config_path`, so the CRI pulls through the site registry's mirrors
 * (site-registry.ts; docs/upstream-facts.md#registry-containerd-config-path).
 */
export function containerdConfig(ctx: HostContext): string {
  const mirrors = ctx.plan.site.airGapped
    ? [
        '',
        '[plugins."io.containerd.grpc.v1.cri".registry]',
        `  config_path = "${CONTAINERD_CERTS_D}"`,
      ]
    : [];
  return [
    '# uStart: containerd for Kubernetes. Rendered, do not edit.',
    'version = 2',
    '',
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${PAUSE_IMAGE}"`,
    '',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '  runtime_type = "io.containerd.runc.v2"',
    '',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '  SystemdCgroup = true',
    ...mirrors,
    '',
  ].join('\n');
}

function nodeRegistration(ctx: HostContext, taints: readonly unknown[]) {
  return {
    name: ctx.server.hostname,
    criSocket: CRI_SOCKET,
    imagePullPolicy: 'IfNotPresent',
    kubeletExtraArgs: [{ name: 'node-ip', value: ctx.managementIp }],
    taints,
  };
}

/**
 * Controllers are not tainted: `taints: []` stops kubeadm from adding its control-plane
 * NoSchedule taint (docs/upstream-facts.md#kubeadm.cp-taint). In this converged design the
 * controllers are where Ceph's mons and mgrs, the OpenStack control plane (Yaook) and the
 * monitoring run; with the taint every one of those charts and custom resources would need a
 * toleration, and one forgotten leaves a workload Pending for ever (Rook's mons were: the
 * review that found it is issue 12). Role labels place the workloads instead, and storage-only
 * nodes keep their own taint (STORAGE_TAINT). The lab's scheduling check
 * (test/doubles/scheduling.mjs) proves every uMetal workload still has a node.
 */
const CONTROLLER_TAINTS: never[] = [];

/**
 * Where kube-scheduler and kube-controller-manager serve their metrics: kubeadm binds both
 * to 127.0.0.1 (docs/upstream-facts.md#kubeadm.component-bind), where Prometheus cannot
 * scrape them and kube-prometheus-stack's KubeSchedulerDown and KubeControllerManagerDown
 * would fire for ever (#kps.component-scrapes). Their secure ports (10259, 10257) need
 * authentication and authorisation for everything but health, so all addresses are safe.
 */
const METRICS_BIND = [{ name: 'bind-address', value: '0.0.0.0' }];

/** The first controller's InitConfiguration + ClusterConfiguration + KubeletConfiguration. */
export function kubeadmInit(ctx: HostContext): string {
  const { plan } = ctx;
  const init = {
    apiVersion: KUBEADM_API,
    kind: 'InitConfiguration',
    localAPIEndpoint: { advertiseAddress: ctx.managementIp, bindPort: 6443 },
    nodeRegistration: nodeRegistration(ctx, CONTROLLER_TAINTS),
  };
  const cluster = {
    apiVersion: KUBEADM_API,
    kind: 'ClusterConfiguration',
    clusterName: plan.site.name,
    kubernetesVersion: `v${ctx.k8sVersion}`,
    controlPlaneEndpoint: ctx.controlPlaneEndpoint,
    // Upstream names on every site: an air-gapped one pulls them through the site registry's
    // mirrors (site-registry.ts), so CoreDNS keeps kubeadm's own path too
    // (docs/upstream-facts.md#kubeadm.dns-image).
    imageRepository: 'registry.k8s.io',
    networking: {
      podSubnet: plan.kubernetes.podCidr,
      serviceSubnet: plan.kubernetes.serviceCidr,
      dnsDomain: 'cluster.local',
    },
    apiServer: {
      certSANs: [
        plan.kubernetes.controlPlaneVip,
        `api.${plan.site.domain}`,
        ...ctx.controllers.map((c) => c.addresses[ctx.management.name] ?? c.hostname),
      ],
    },
    controllerManager: { extraArgs: METRICS_BIND },
    scheduler: { extraArgs: METRICS_BIND },
  };
  const kubelet = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'systemd',
  };
  return toYamlDocuments([init, cluster, kubelet]);
}

/** JoinConfiguration for a controller (with its own API endpoint) or a worker. */
export function kubeadmJoin(ctx: HostContext): string {
  const join = {
    apiVersion: KUBEADM_API,
    kind: 'JoinConfiguration',
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: ctx.controlPlaneEndpoint,
        token: JOIN_PLACEHOLDERS.token,
        caCertHashes: [JOIN_PLACEHOLDERS.caCertHash],
      },
    },
    nodeRegistration: nodeRegistration(ctx, ctx.isController ? CONTROLLER_TAINTS : []),
    ...(ctx.isController
      ? {
          controlPlane: {
            localAPIEndpoint: { advertiseAddress: ctx.managementIp, bindPort: 6443 },
            certificateKey: JOIN_PLACEHOLDERS.certificateKey,
          },
        }
      : {}),
  };
  return toYamlDocuments([join]);
}

/**
 * kube-vip as a static pod on every controller, announcing the VIP by ARP on the management
 * NIC with leader election. On the first controller during `kubeadm init` only
 * super-admin.conf may create the lease (Kubernetes ≥ 1.29, kube-vip issue #684), so that
 * host mounts it; the others use admin.conf.
 */
export function kubeVipManifest(ctx: HostContext): string {
  return toYaml(
    kubeVipPod({
      address: ctx.plan.kubernetes.controlPlaneVip,
      interface: ctx.managementNic,
      kubeconfig: ctx.isFirstController
        ? '/etc/kubernetes/super-admin.conf'
        : '/etc/kubernetes/admin.conf',
      // Services of type LoadBalancer (the OpenStack public VIP) are announced too.
      services: { interface: providerNic(ctx) },
      image: KUBE_VIP_IMAGE,
      imagePullPolicy: 'IfNotPresent',
    }),
  );
}

export interface KubeVipOptions {
  /** The control-plane VIP kube-vip announces. */
  address: string;
  /**
   * The interface it announces on; absent: the interface of the default route, which kube-vip
   * detects itself (docs/upstream-facts.md#kube-vip.default-interface).
   */
  interface?: string;
  /** The host's kubeconfig kube-vip mounts as /etc/kubernetes/admin.conf. */
  kubeconfig: string;
  /** Also announce Services of type LoadBalancer, on this interface when given. */
  services?: { interface: string | undefined };
  image: string;
  imagePullPolicy: 'Never' | 'IfNotPresent';
}

/**
 * kube-vip's static Pod in ARP mode with leader election, in the shape of kube-vip's own
 * manifest generator (docs/upstream-facts.md#kube-vip.static-pod-shape); shared by the site's
 * controllers and uGarden's workload control plane.
 */
export function kubeVipPod(o: KubeVipOptions): Record<string, unknown> {
  const env: Array<[string, string]> = [
    ['vip_arp', 'true'],
    ['port', '6443'],
    ...(o.interface ? [['vip_interface', o.interface] as [string, string]] : []),
    ['vip_cidr', '32'],
    ['cp_enable', 'true'],
    ['cp_namespace', 'kube-system'],
    ['vip_leaderelection', 'true'],
    ['vip_leasename', 'plndr-cp-lock'],
    ['vip_leaseduration', '5'],
    ['vip_renewdeadline', '3'],
    ['vip_retryperiod', '1'],
    ['address', o.address],
  ];
  if (o.services) {
    env.push(['svc_enable', 'true']);
    if (o.services.interface) env.push(['vip_servicesinterface', o.services.interface]);
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kube-vip', namespace: 'kube-system' },
    spec: {
      containers: [
        {
          name: 'kube-vip',
          image: o.image,
          imagePullPolicy: o.imagePullPolicy,
          args: ['manager'],
          env: env.map(([name, value]) => ({ name, value })),
          securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
          volumeMounts: [{ name: 'kubeconfig', mountPath: '/etc/kubernetes/admin.conf' }],
        },
      ],
      hostAliases: [{ ip: '127.0.0.1', hostnames: ['kubernetes'] }],
      hostNetwork: true,
      volumes: [{ name: 'kubeconfig', hostPath: { path: o.kubeconfig, type: 'File' } }],
    },
  };
}

/**
 * The interface on the provider (public) network, where the OpenStack public VIP lives: a NIC,
 * a bond or a VLAN interface, as host networking makes it (src/plan/host-links.ts).
 */
export function providerNic(ctx: HostContext): string | undefined {
  return providerUplink(ctx.plan, ctx.server)?.name;
}

/** Labels each role puts on a node; OpenStack (Yaook) schedules its services by them. */
export const ROLE_LABELS: Record<Role, Record<string, string>> = {
  // Yaook schedules a component only on nodes that carry its scheduling key as a label, and on
  // a fresh cluster nothing at all (docs/upstream-facts.md#yaook.scheduling-labels).
  // Controllers carry Yaook's own control-plane profile (yaookctl's list) plus OVN's northd;
  // compute nodes its compute profile plus the OVN agent.
  controller: {
    'node-role.uhurutec.com/controller': 'true',
    'any.yaook.cloud/api': 'true',
    'block-storage.yaook.cloud/cinder-any-service': 'true',
    'ceilometer.yaook.cloud/ceilometer-any-service': 'true',
    'compute.yaook.cloud/nova-any-service': 'true',
    'gnocchi.yaook.cloud/metricd': 'true',
    'infra.yaook.cloud/any': 'true',
    'infra.yaook.cloud/caching': 'true',
    'key-manager.yaook.cloud/barbican-any-service': 'true',
    'key-manager.yaook.cloud/barbican-keystone-listener': 'true',
    'operator.yaook.cloud/any': 'true',
    'network.yaook.cloud/neutron-northd': 'true',
  },
  compute: {
    'node-role.uhurutec.com/compute': 'true',
    'compute.yaook.cloud/hypervisor': 'true',
    'network.yaook.cloud/neutron-ovn-agent': 'true',
  },
  storage: {
    'node-role.uhurutec.com/storage': 'true',
    'ceph-osd': 'enabled',
  },
};

/** Storage-only nodes keep general workloads off their disks and CPUs; Rook tolerates it. */
export const STORAGE_TAINT = 'node-role.uhurutec.com/storage=true:NoSchedule';

/** `host<TAB>labels<TAB>taints` for every member; labels `k=v` and taints comma-separated. */
export function nodeLabels(ctx: HostContext): string {
  const rows = ctx.members.map((s) => {
    const labels: Record<string, string> = {};
    for (const role of [...s.roles].sort()) Object.assign(labels, ROLE_LABELS[role]);
    const taints = s.roles.length === 1 && s.roles[0] === 'storage' ? [STORAGE_TAINT] : [];
    const pairs = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`);
    return [s.hostname, pairs.join(','), taints.join(',') || '-'].join('\t');
  });
  return rows.join('\n') + '\n';
}

/** Cilium's Helm values: cluster-pool IPAM on the plan's pod CIDR, API via the VIP. */
export function ciliumValues(ctx: HostContext): string {
  return toYaml({
    k8sServiceHost: ctx.plan.kubernetes.controlPlaneVip,
    k8sServicePort: 6443,
    kubeProxyReplacement: false,
    ipam: {
      mode: 'cluster-pool',
      operator: { clusterPoolIPv4PodCIDRList: [ctx.plan.kubernetes.podCidr] },
    },
    image: { repository: bomRepository('cilium'), useDigest: false },
    operator: {
      image: { repository: bomRepository('cilium-operator'), useDigest: false },
    },
    envoy: { enabled: false },
  });
}
