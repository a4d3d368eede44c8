/**
 * Monitoring and logging on uMetal: kube-prometheus-stack (Prometheus, Alertmanager,
 * Grafana with the node and Ceph dashboards), Loki and Grafana Alloy, from the bundle's
 * charts. Each UI is a NodePort on the management network; the URLs are written for the
 * handover report.
 */
import type { HostContext } from '../context.js';
import { toJson, toYaml } from '../yaml.js';
import { bomTag } from '../bom.js';
import { storageToleration } from './ceph.js';

export const NODE_PORTS = { grafana: 30300, prometheus: 30090, alertmanager: 30093 } as const;

export function prometheusStackValues(_ctx: HostContext): string {
  const nodePort = (port: number) => ({ type: 'NodePort', nodePort: port });
  return toYaml({
    grafana: {
      service: { ...nodePort(NODE_PORTS.grafana), port: 80 },
      admin: {
        existingSecret: 'grafana-admin',
        userKey: 'admin-user',
        passwordKey: 'admin-password',
      },
      defaultDashboardsEnabled: true,
      sidecar: {
        dashboards: { enabled: true, label: 'grafana_dashboard', searchNamespace: 'ALL' },
      },
      additionalDataSources: [
        {
          name: 'Loki',
          type: 'loki',
          url: 'http://loki-gateway.logging.svc.cluster.local',
          access: 'proxy',
        },
      ],
    },
    prometheus: {
      service: nodePort(NODE_PORTS.prometheus),
      prometheusSpec: { retention: '15d', serviceMonitorSelectorNilUsesHelmValues: false },
    },
    alertmanager: { service: nodePort(NODE_PORTS.alertmanager) },
    // kubeadm serves etcd's metrics (2381) and kube-proxy's (10249) on 127.0.0.1 only and
    // over plain HTTP (docs/upstream-facts.md#kubeadm.component-bind); opening them would put
    // unauthenticated endpoints on every network of the controllers, the provider network
    // included. These scrapes are off, and with them their alert rules, which the chart only
    // renders for enabled scrapes (#kps.component-scrapes). etcd's health still shows in the
    // API server's own metrics. The scheduler and controller manager are scraped: kubeadm
    // binds them for it (kubernetes.ts, METRICS_BIND).
    kubeEtcd: { enabled: false },
    kubeProxy: { enabled: false },
  });
}

/**
 * Loki as one binary on a Ceph volume. The chart's registry key is `global.image.registry`
 * (docs/upstream-facts.md#loki.values: a `global.imageRegistry` is silently ignored). Its
 * memcached caches are off: the chunks cache alone asks for 9.8 GiB of memory by default and
 * stays Pending on smaller nodes, failing `helm --wait`; a single-binary Loki of one site does
 * not need them. The canary and the Helm test pod are off too: they are not part of the
 * service and would need images of their own in the bundle.
 */
export function lokiValues(_ctx: HostContext): string {
  return toYaml({
    deploymentMode: 'SingleBinary',
    loki: {
      auth_enabled: false,
      commonConfig: { replication_factor: 1 },
      storage: { type: 'filesystem' },
      schemaConfig: {
        configs: [
          {
            from: '2024-01-01',
            store: 'tsdb',
            object_store: 'filesystem',
            schema: 'v13',
            index: { prefix: 'index_', period: '24h' },
          },
        ],
      },
    },
    singleBinary: { replicas: 1, persistence: { storageClass: 'ceph-block', size: '50Gi' } },
    read: { replicas: 0 },
    write: { replicas: 0 },
    backend: { replicas: 0 },
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
    lokiCanary: { enabled: false },
    test: { enabled: false },
  });
}

/** Where Alloy sends the logs: Loki's gateway Service (release `loki` in `logging`). */
export const LOKI_PUSH_URL = 'http://loki-gateway.logging.svc.cluster.local/loki/api/v1/push';

/**
 * Grafana Alloy, the log agent that replaces Promtail (end of life since 2 March 2026,
 * docs/upstream-facts.md#promtail.status): a DaemonSet (the chart's default controller type)
 * that reads the pods' logs through the API and pushes them to Loki. Its instances form a
 * cluster and share the pods between them (loki.source.kubernetes with clustering; without it
 * every instance would tail every pod). It tolerates the storage taint, so storage-only nodes
 * (the OSDs) are not left out; the chart has no tolerations by default (#alloy.chart).
 */
export function alloyValues(_ctx: HostContext): string {
  const config = [
    'discovery.kubernetes "pods" {',
    '  role = "pod"',
    '}',
    '',
    'discovery.relabel "pods" {',
    '  targets = discovery.kubernetes.pods.targets',
    ...[
      ['__meta_kubernetes_namespace', 'namespace'],
      ['__meta_kubernetes_pod_name', 'pod'],
      ['__meta_kubernetes_pod_container_name', 'container'],
      ['__meta_kubernetes_pod_node_name', 'node'],
    ].flatMap(([from, to]) => [
      '  rule {',
      `    source_labels = ["${from}"]`,
      `    target_label  = "${to}"`,
      '  }',
    ]),
    '}',
    '',
    'loki.source.kubernetes "pods" {',
    '  targets    = discovery.relabel.pods.output',
    '  forward_to = [loki.write.site.receiver]',
    '  clustering {',
    '    enabled = true',
    '  }',
    '}',
    '',
    'loki.write "site" {',
    '  endpoint {',
    `    url = "${LOKI_PUSH_URL}"`,
    '  }',
    '}',
    '',
  ].join('\n');
  return toYaml({
    controller: { type: 'daemonset', tolerations: [storageToleration()] },
    alloy: { configMap: { content: config }, clustering: { enabled: true } },
    // By tag: the chart's default tag carries upstream's index digest, which a narrowed index
    // in the site registry does not have (as ingressNginxValues in ustack.ts).
    configReloader: { image: { tag: bomTag('alloy-config-reloader') } },
  });
}

/** The monitoring endpoints for the handover report, reached through the API VIP. */
export function handoverEndpoints(ctx: HostContext): string {
  const vip = ctx.plan.kubernetes.controlPlaneVip;
  return toJson({
    grafana: `http://${vip}:${NODE_PORTS.grafana}/`,
    prometheus: `http://${vip}:${NODE_PORTS.prometheus}/`,
    alertmanager: `http://${vip}:${NODE_PORTS.alertmanager}/`,
    grafanaAdminSecret: 'kubectl -n monitoring get secret grafana-admin',
  });
}
