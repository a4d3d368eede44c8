/**
 * The kube-prometheus-stack chart's values uStart sets, as a strict zod schema. The chart
 * (and its grafana dependency) ship no values.schema.json, so Helm takes any key and a
 * misspelt one is ignored. Each key exists at the version uStart ships:
 *
 *   prometheus-community/helm-charts charts/kube-prometheus-stack/values.yaml at tag
 *   kube-prometheus-stack-66.3.1: global.imageRegistry; grafana.defaultDashboardsEnabled,
 *   grafana.sidecar.dashboards.{enabled,label,searchNamespace}, grafana.additionalDataSources
 *   (read by templates/grafana/configmaps-datasources.yaml); prometheus.service.{type,nodePort};
 *   prometheus.prometheusSpec.{retention,serviceMonitorSelectorNilUsesHelmValues};
 *   alertmanager.service.{type,nodePort}; kubeEtcd, kubeProxy, kubeControllerManager,
 *   kubeScheduler: {enabled, service{enabled,port,targetPort}, serviceMonitor{enabled,https,
 *   insecureSkipVerify,port}} (https exists for all but kubeEtcd, insecureSkipVerify for all
 *   but kubeProxy).
 *
 *   The `grafana:` block goes to the grafana chart, dependency "8.6.*" in that Chart.yaml:
 *   grafana/helm-charts charts/grafana/values.yaml at grafana-8.6.0 and grafana-8.6.4 (the
 *   same keys): service.{type,port}, admin.{existingSecret,userKey,passwordKey}; and
 *   service.nodePort, which values.yaml does not list but templates/service.yaml reads when
 *   service.type is NodePort.
 *
 * See docs/upstream-facts.md#schema.kube-prometheus-stack-values.
 */
import { z } from 'zod';

const ServiceType = z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']);
const Port = z.int().min(1).max(65535);
/**
 * The API server's default NodePort range, 30000-32767: kubernetes/kubernetes
 * pkg/kubeapiserver/options/options.go DefaultServiceNodePortRange {Base: 30000, Size: 2768}
 * (read at v1.12.4-beta.0; uStart passes no --service-node-port-range).
 */
const NodePort = z.int().min(30000).max(32767);

/** kubeEtcd / kubeProxy / kubeControllerManager / kubeScheduler. */
function component(monitor: z.ZodRawShape) {
  return z.strictObject({
    enabled: z.boolean(),
    endpoints: z.array(z.ipv4()).optional(),
    service: z
      .strictObject({
        enabled: z.boolean().optional(),
        port: Port.optional(),
        targetPort: Port.optional(),
      })
      .optional(),
    serviceMonitor: z
      .strictObject({ enabled: z.boolean().optional(), port: z.string().optional(), ...monitor })
      .optional(),
  });
}

export const KubePrometheusStackValues = z.strictObject({
  global: z.strictObject({ imageRegistry: z.string().min(1).nullable() }).optional(),
  grafana: z.strictObject({
    service: z.strictObject({
      type: ServiceType,
      nodePort: NodePort.optional(),
      port: Port.optional(),
    }),
    admin: z.strictObject({
      existingSecret: z.string().min(1),
      userKey: z.string().min(1),
      passwordKey: z.string().min(1),
    }),
    defaultDashboardsEnabled: z.boolean(),
    sidecar: z.strictObject({
      dashboards: z.strictObject({
        enabled: z.boolean(),
        label: z.string().min(1),
        searchNamespace: z.string().min(1).optional(),
      }),
    }),
    // Grafana datasource provisioning entries (name, type, url, access).
    additionalDataSources: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          type: z.string().min(1),
          url: z.url(),
          access: z.enum(['proxy', 'direct']),
        }),
      )
      .optional(),
  }),
  prometheus: z.strictObject({
    service: z.strictObject({ type: ServiceType, nodePort: NodePort.optional() }),
    prometheusSpec: z.strictObject({
      retention: z.string().regex(/^\d+(ms|s|m|h|d|w|y)$/),
      serviceMonitorSelectorNilUsesHelmValues: z.boolean(),
    }),
  }),
  alertmanager: z.strictObject({
    service: z.strictObject({ type: ServiceType, nodePort: NodePort.optional() }),
  }),
  kubeEtcd: component({ insecureSkipVerify: z.boolean().optional() }).optional(),
  kubeProxy: component({ https: z.boolean().optional() }).optional(),
  kubeControllerManager: component({
    https: z.boolean().optional(),
    insecureSkipVerify: z.boolean().optional(),
  }).optional(),
  kubeScheduler: component({
    https: z.boolean().optional(),
    insecureSkipVerify: z.boolean().optional(),
  }).optional(),
});
