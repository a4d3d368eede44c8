/**
 * Monitoring and logging on uMetal: kube-prometheus-stack (Prometheus, Alertmanager,
 * Grafana with the node and Ceph dashboards) and Loki, from the bundle's charts. Each UI is
 * a NodePort on the management network; the URLs are written for the handover report.
 */
import type { HostContext } from '../context.js';
import { registry } from '../images.js';
import { toJson, toYaml } from '../yaml.js';

export const NODE_PORTS = { grafana: 30300, prometheus: 30090, alertmanager: 30093 } as const;

export function prometheusStackValues(ctx: HostContext): string {
  const nodePort = (port: number) => ({ type: 'NodePort', nodePort: port });
  return toYaml({
    global: { imageRegistry: registry(ctx, '') || null },
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
  });
}

export function lokiValues(ctx: HostContext): string {
  return toYaml({
    global: { imageRegistry: registry(ctx, '') || null },
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
