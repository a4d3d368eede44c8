/**
 * The Loki chart's values uStart sets, as a strict zod schema. The chart ships no
 * values.schema.json, so Helm takes any key and a misspelt one is ignored. Each key exists in
 * grafana/loki production/helm/loki/values.yaml at tag helm-loki-6.23.0 (appVersion 3.3.1):
 * global.image.registry (there is no global.imageRegistry: templates/_helpers.tpl passes
 * .Values.global.image to every image), deploymentMode, loki.auth_enabled,
 * loki.commonConfig.replication_factor, loki.storage.type, loki.schemaConfig,
 * singleBinary.{replicas, persistence.{storageClass,size}}, read/write/backend.replicas.
 *
 * loki.schemaConfig is copied into Loki's own config as schema_config, which Loki parses
 * strictly: its fields are PeriodConfig's yaml tags in grafana/loki
 * pkg/storage/config/schema_config.go at v3.3.1 (from, store, object_store, schema,
 * index{prefix, period}).
 *
 * See docs/upstream-facts.md#schema.loki-values.
 */
import { z } from 'zod';

/** Modes named in values.yaml's deploymentMode comment and templates/_helpers.tpl. */
const DeploymentMode = z.enum([
  'SingleBinary',
  'SimpleScalable',
  'Distributed',
  'SingleBinary<->SimpleScalable',
  'SimpleScalable<->Distributed',
]);

const Replicas = z.strictObject({ replicas: z.int().min(0) });
const Toggle = z.strictObject({ enabled: z.boolean() });

export const LokiValues = z.strictObject({
  global: z
    .strictObject({ image: z.strictObject({ registry: z.string().min(1).nullable() }) })
    .optional(),
  deploymentMode: DeploymentMode,
  loki: z.strictObject({
    auth_enabled: z.boolean(),
    commonConfig: z.strictObject({ replication_factor: z.int().min(1) }),
    // The chart's templates name s3, gcs, azure, alibabacloud and swift; anything else falls
    // through to the filesystem branch of loki.commonStorageConfig.
    storage: z.strictObject({
      type: z.enum(['s3', 'gcs', 'azure', 'alibabacloud', 'swift', 'filesystem']),
    }),
    schemaConfig: z.strictObject({
      configs: z
        .array(
          z.strictObject({
            from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
            store: z.enum(['tsdb', 'boltdb-shipper']),
            object_store: z.string().min(1),
            schema: z.string().regex(/^v\d+$/),
            index: z.strictObject({ prefix: z.string().min(1), period: z.string().min(1) }),
          }),
        )
        .min(1),
    }),
  }),
  singleBinary: z.strictObject({
    replicas: z.int().min(0),
    persistence: z.strictObject({
      storageClass: z.string().min(1).nullable(),
      size: z.string().regex(/^\d+(Ki|Mi|Gi|Ti)$/),
    }),
  }),
  read: Replicas,
  write: Replicas,
  backend: Replicas,
  // values.yaml @ helm-loki-6.23.0: chunksCache (3157–3180) and resultsCache (3059–3071), both
  // memcached StatefulSets; lokiCanary (664–720), a DaemonSet; test (636–660), the helm-test
  // Pod. Each is on by default and switched by its `enabled`.
  chunksCache: Toggle.optional(),
  resultsCache: Toggle.optional(),
  lokiCanary: Toggle.optional(),
  test: Toggle.optional(),
});
