/**
 * What the uMetal charts create, as far as `helm upgrade --install --wait` depends on it: each
 * chart's workloads with the placement its values give them (falling back to the chart's own
 * defaults, read upstream), its Services and their types, and — for kube-prometheus-stack —
 * the control-plane components it scrapes. Every default below is a row of
 * docs/upstream-facts.md, cited by its id; a chart not listed here is not judged.
 *
 * `helm --wait` waits until every workload is ready and every LoadBalancer Service has an
 * address (docs/upstream-facts.md#helm.wait-lb); where that can never happen the double refuses
 * at once instead of waiting out the 20-minute timeout.
 */
import { unschedulable } from './scheduling.mjs';

const STORAGE_AGENT = 'a pod with a Ceph volume on a node without it cannot mount the volume';

/** A value at a dotted path, or the fallback when it is absent. */
const get = (values, path, fallback) => {
  const v = path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), values);
  return v === undefined || v === null ? fallback : v;
};

/**
 * Rook's `csi.pluginNodeAffinity` is a string (`key=v1,v2; key2`), turned into required node
 * affinity by the operator (docs/upstream-facts.md#rook.csi-tolerations).
 */
function rookAffinity(text) {
  if (!text) return undefined;
  const matchExpressions = String(text)
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [key, values] = s.split('=');
      return values
        ? { key: key.trim(), operator: 'In', values: values.split(',').map((v) => v.trim()) }
        : { key: key.trim(), operator: 'Exists' };
    });
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] },
    },
  };
}

const pod = (values, prefix, defaults = {}) => ({
  tolerations: get(values, `${prefix}tolerations`, defaults.tolerations ?? []),
  nodeSelector: get(values, `${prefix}nodeSelector`, {}),
  affinity: get(values, `${prefix}affinity`, undefined),
});

/** By chart name: what the chart makes from its values. */
export const CHARTS = {
  // docs/upstream-facts.md#cilium.tolerations
  cilium: (v) => ({
    workloads: [
      {
        what: 'the Cilium agent (DaemonSet cilium)',
        pod: pod(v, '', { tolerations: [{ operator: 'Exists' }] }),
        everyNode: 'a node without it has no pod network',
      },
      {
        what: 'the Cilium operator',
        pod: pod(v, 'operator.', { tolerations: [{ operator: 'Exists' }] }),
      },
    ],
    services: [],
  }),
  // docs/upstream-facts.md#rook.csi-tolerations
  'rook-ceph': (v) => ({
    workloads: [
      { what: 'the Rook operator', pod: pod(v, '') },
      ...(get(v, 'csi.enableRbdDriver', true)
        ? [
            {
              what: "Rook's RBD CSI node plugin (DaemonSet csi-rbdplugin)",
              pod: {
                tolerations: get(v, 'csi.pluginTolerations', []),
                affinity: rookAffinity(get(v, 'csi.pluginNodeAffinity', '')),
              },
              everyNode: STORAGE_AGENT,
            },
            {
              what: "Rook's RBD CSI provisioner",
              pod: {
                tolerations: get(v, 'csi.provisionerTolerations', []),
                affinity: rookAffinity(get(v, 'csi.provisionerNodeAffinity', '')),
              },
            },
          ]
        : []),
    ],
    services: [],
  }),
  // docs/upstream-facts.md#kps.node-exporter-tolerations, #kps.values, #kps.component-scrapes
  'kube-prometheus-stack': (v) => ({
    workloads: [
      {
        what: 'the node exporter (DaemonSet)',
        pod: pod(v, 'prometheus-node-exporter.', {
          tolerations: [{ effect: 'NoSchedule', operator: 'Exists' }],
        }),
        everyNode: 'a node without it is not monitored',
      },
      { what: 'the Prometheus operator', pod: pod(v, 'prometheusOperator.') },
      { what: 'Prometheus', pod: pod(v, 'prometheus.prometheusSpec.') },
      { what: 'Alertmanager', pod: pod(v, 'alertmanager.alertmanagerSpec.') },
      { what: 'Grafana', pod: pod(v, 'grafana.') },
      { what: 'kube-state-metrics', pod: pod(v, 'kube-state-metrics.') },
    ],
    services: [
      {
        name: 'grafana',
        type: get(v, 'grafana.service.type', 'ClusterIP'),
        values: 'grafana.service',
      },
      {
        name: 'prometheus',
        type: get(v, 'prometheus.service.type', 'ClusterIP'),
        values: 'prometheus.service',
      },
      {
        name: 'alertmanager',
        type: get(v, 'alertmanager.service.type', 'ClusterIP'),
        values: 'alertmanager.service',
      },
    ],
    scrapes: [
      { component: 'etcd', enabled: get(v, 'kubeEtcd.enabled', true), values: 'kubeEtcd' },
      {
        component: 'kube-scheduler',
        enabled: get(v, 'kubeScheduler.enabled', true),
        values: 'kubeScheduler',
      },
      {
        component: 'kube-controller-manager',
        enabled: get(v, 'kubeControllerManager.enabled', true),
        values: 'kubeControllerManager',
      },
      { component: 'kube-proxy', enabled: get(v, 'kubeProxy.enabled', true), values: 'kubeProxy' },
    ],
  }),
  // docs/upstream-facts.md#loki.values
  loki: (v) => ({
    workloads: [
      ...(get(v, 'deploymentMode', 'SimpleScalable') === 'SingleBinary'
        ? [
            {
              what: 'Loki (single binary)',
              pod: pod(v, 'singleBinary.'),
              replicas: get(v, 'singleBinary.replicas', 0),
            },
          ]
        : []),
      { what: "Loki's gateway", pod: pod(v, 'gateway.') },
    ],
    services: [
      {
        name: 'loki-gateway',
        type: get(v, 'gateway.service.type', 'ClusterIP'),
        values: 'gateway.service',
      },
    ],
  }),
  // docs/upstream-facts.md#ingress-nginx.service-type: the controller's Service is a
  // LoadBalancer unless the values say otherwise.
  'ingress-nginx': (v) => ({
    workloads: [{ what: 'the ingress-nginx controller', pod: pod(v, 'controller.') }],
    services: [
      {
        name: 'ingress-nginx-controller',
        type: get(v, 'controller.service.enabled', true)
          ? get(v, 'controller.service.type', 'LoadBalancer')
          : 'none',
        values: 'controller.service',
      },
    ],
  }),
  // docs/upstream-facts.md#alloy.chart
  alloy: (v) => ({
    workloads:
      get(v, 'controller.type', 'daemonset') === 'daemonset'
        ? [
            {
              what: 'Grafana Alloy (DaemonSet)',
              pod: pod(v, 'controller.'),
              everyNode: "that node's pod logs would never reach Loki",
            },
          ]
        : [{ what: 'Grafana Alloy', pod: pod(v, 'controller.') }],
    services: [],
  }),
};

/**
 * kubeadm's defaults bind these endpoints to 127.0.0.1 (docs/upstream-facts.md#kubeadm.component-bind):
 * a scrape from Prometheus' pod can never reach them. `flag` is the option that moves them.
 */
const LOOPBACK_DEFAULTS = {
  etcd: {
    args: 'etcd.local.extraArgs',
    flag: 'listen-metrics-urls',
    bound: (v) => !/127\.0\.0\.1|localhost/.test(v),
  },
  'kube-scheduler': {
    args: 'scheduler.extraArgs',
    flag: 'bind-address',
    bound: (v) => v !== '127.0.0.1',
  },
  'kube-controller-manager': {
    args: 'controllerManager.extraArgs',
    flag: 'bind-address',
    bound: (v) => v !== '127.0.0.1',
  },
  // kube-proxy's metricsBindAddress is set in its KubeProxyConfiguration, which uStart does not render.
  'kube-proxy': { args: undefined, flag: 'metricsBindAddress', bound: () => false },
};

/**
 * Why the release could not become ready, or undefined. `nodes` are the cluster's nodes;
 * `cluster` is kubeadm's ClusterConfiguration as `kubeadm init` stored it (or undefined).
 */
export function chartProblem(name, values, nodes, cluster) {
  const make = CHARTS[name];
  if (!make) return undefined;
  const chart = make(values ?? {});
  if (nodes.length) {
    const problem = unschedulable(chart.workloads, nodes);
    if (problem) return `${name}: ${problem}`;
  }
  for (const s of chart.services) {
    const svc = get(values ?? {}, s.values, {});
    if (
      s.type === 'LoadBalancer' &&
      !svc.loadBalancerIP &&
      !svc.annotations?.['kube-vip.io/loadbalancerIPs']
    )
      return `${name}: Service ${s.name} is a LoadBalancer that nothing gives an address (kube-vip serves only Services with one), so helm --wait never sees it ready (docs/upstream-facts.md#helm.wait-lb, #kube-vip.svc)`;
  }
  for (const s of chart.scrapes ?? []) {
    if (!s.enabled || !cluster) continue;
    const d = LOOPBACK_DEFAULTS[s.component];
    const args = d.args ? get(cluster, d.args, []) : [];
    const set = args.find((a) => a.name === d.flag);
    if (!set || !d.bound(set.value))
      return `${name}: ${s.values}.enabled scrapes ${s.component}, whose metrics kubeadm binds to 127.0.0.1 (${d.flag}${set ? `=${set.value}` : ' not set'}); the target stays down and its alert fires for ever. Bind it for scraping or set ${s.values}.enabled=false (docs/upstream-facts.md#kps.component-scrapes, #kubeadm.component-bind)`;
  }
  return undefined;
}

/**
 * Rook's placement of a CephCluster's daemons (docs/upstream-facts.md#rook.placement): each
 * daemon's placement is `placement.all` merged with its own key (tolerations of both; the
 * daemon's node affinity where it sets one; the prepare jobs merge `all` with `prepareosd`, not
 * with `osd`). Mons need `mon.count` distinct nodes unless `allowMultiplePerNode` (and always
 * with host networking), mgrs `mgr.count` unless theirs; an OSD and its prepare job run on the node of their disks
 * (docs/upstream-facts.md#rook.osd-placement). Rook makes no OSD before its mons are in quorum,
 * so an unschedulable mon leaves the cluster without storage for ever.
 */
export function cephClusterProblem(o, nodes) {
  const p = o.spec?.placement ?? {};
  const merged = (key) => ({
    tolerations: [...(p.all?.tolerations ?? []), ...(p[key]?.tolerations ?? [])],
    affinity: { nodeAffinity: p[key]?.nodeAffinity ?? p.all?.nodeAffinity },
    nodeSelector: {},
  });
  const storageNodes = (o.spec?.storage?.nodes ?? []).map((n) => n.name);
  const unknown = storageNodes.filter((n) => !nodes.some((x) => x.name === n));
  if (unknown.length)
    return `CephCluster ${o.metadata.name}: storage.nodes names ${unknown.join(', ')}, which are not nodes of the cluster`;
  const problem = unschedulable(
    [
      {
        what: `CephCluster ${o.metadata.name}'s mons`,
        pod: merged('mon'),
        replicas: o.spec?.mon?.count ?? 3,
        // Required anti-affinity per node unless allowed, and always with host networking.
        distinct: !o.spec?.mon?.allowMultiplePerNode || o.spec?.network?.provider === 'host',
      },
      {
        what: `CephCluster ${o.metadata.name}'s mgrs`,
        pod: merged('mgr'),
        replicas: o.spec?.mgr?.count ?? 1,
        distinct: !o.spec?.mgr?.allowMultiplePerNode,
      },
      {
        what: `CephCluster ${o.metadata.name}'s OSD prepare jobs`,
        pod: merged('prepareosd'),
        onNodes: storageNodes,
      },
      { what: `CephCluster ${o.metadata.name}'s OSDs`, pod: merged('osd'), onNodes: storageNodes },
    ],
    nodes,
  );
  return problem && `${problem}; Rook would wait for ever`;
}
