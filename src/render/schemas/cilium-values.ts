/**
 * The Cilium Helm values uStart sets, as a strict zod schema derived from the chart's own
 * values.schema.json: cilium/cilium install/kubernetes/cilium/values.schema.json at v1.16.5,
 * read in the released package cilium-1.16.5.tgz (cilium/charts). Helm checks values
 * against that file, but it has no `additionalProperties: false` anywhere, so a misspelt key
 * passes Helm and is ignored; this schema is strict at every level uStart writes.
 * See docs/upstream-facts.md#schema.cilium-values.
 */
import { z } from 'zod';

export const CiliumValues = z.strictObject({
  // "k8sServiceHost": {"type": "string"}; "k8sServicePort": {"type": ["string", "integer"]}.
  k8sServiceHost: z.string().min(1),
  k8sServicePort: z.union([z.int().min(1).max(65535), z.string().regex(/^\d+$/)]),
  // Not in the schema (commented out in values.yaml); templates/cilium-configmap.yaml
  // stringifies it and fails the install unless it is "true" or "false".
  kubeProxyReplacement: z.union([z.boolean(), z.enum(['true', 'false'])]),
  ipam: z.strictObject({
    // "mode": {"type": "string"}; the chart's templates handle "cluster-pool" and
    // "multi-pool" by name (values.yaml default "cluster-pool").
    mode: z.enum(['cluster-pool', 'multi-pool']),
    operator: z.strictObject({
      // {"type": ["array", "string"], "items": {"anyOf": [{"type": "string"}]}}
      clusterPoolIPv4PodCIDRList: z.union([z.array(z.cidrv4()).min(1), z.cidrv4()]),
    }),
  }),
  // image: {repository, tag, digest, useDigest, pullPolicy, override}.
  image: z.strictObject({
    repository: z.string().min(1),
    tag: z.string().min(1).optional(),
    useDigest: z.boolean(),
  }),
  // operator.image: {repository, suffix, tag, useDigest, ...}; the chart appends suffix
  // ("-generic") to the repository.
  operator: z.strictObject({
    image: z.strictObject({
      repository: z.string().min(1),
      tag: z.string().min(1).optional(),
      useDigest: z.boolean(),
    }),
  }),
  // "envoy": {"enabled": {"type": ["null", "boolean"]}}.
  envoy: z.strictObject({ enabled: z.boolean().nullable() }),
});
