/**
 * Grafana Alloy chart values uStart may set (the log agent that replaces Promtail), as a
 * strict zod schema. The chart ships no values.schema.json. Each key exists in
 * grafana/alloy operations/helm/charts/alloy/values.yaml at tag helm-chart/0.10.1
 * (appVersion v1.5.1, released beside kube-prometheus-stack 66.3.1 and loki 6.23.0) and
 * unchanged at helm-chart/1.11.1: global.image.registry (read by templates/containers/
 * _agent.yaml and _watch.yaml before image.registry), controller.type ("Must be one of
 * 'daemonset', 'deployment', or 'statefulset'"), controller.tolerations,
 * alloy.configMap.{create, content}, alloy.mounts.{varlog, dockercontainers}.
 *
 * See docs/upstream-facts.md#schema.alloy-values.
 */
import { z } from 'zod';
import { Toleration } from './k8s-api.js';

export const AlloyValues = z.strictObject({
  global: z.strictObject({ image: z.strictObject({ registry: z.string().nullable() }) }).optional(),
  controller: z.strictObject({
    type: z.enum(['daemonset', 'deployment', 'statefulset']),
    tolerations: z.array(Toleration).optional(),
  }),
  alloy: z.strictObject({
    configMap: z.strictObject({
      create: z.boolean().optional(),
      content: z.string().min(1),
    }),
    mounts: z
      .strictObject({
        varlog: z.boolean().optional(),
        dockercontainers: z.boolean().optional(),
      })
      .optional(),
    // alloy.clustering.enabled (values.yaml @ helm-chart/1.11.1): the instances form a cluster,
    // which loki.source.kubernetes's clustering block uses to share the pods between them.
    clustering: z.strictObject({ enabled: z.boolean() }).optional(),
  }),
  // configReloader.image.tag (values.yaml @ helm-chart/1.11.1 l.246-256: the default tag
  // carries a digest, `v0.91.0@sha256:…`; `digest` overrides the tag when set).
  configReloader: z
    .strictObject({ image: z.strictObject({ tag: z.string().regex(/^[\w.-]+$/) }) })
    .optional(),
});
