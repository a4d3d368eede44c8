/**
 * Yaook's OpenStack resources as uStart renders them, as strict zod schemas.
 *
 * Yaook's CRDs are built from `deploy/cuelang/*-crd.cue` in gitlab.com/yaook/operator, which
 * could not be read from here (GitLab only; no mirror; the chart registry is unreachable), so
 * these schemas are NOT derived from the CRDs. They are derived from what could be read, and
 * each part says which (docs/upstream-facts.md#yaook.crd-common … #yaook.crd-horizon):
 *
 * - docs.yaook.cloud "Common Custom Resources Options": a database needs `proxy` and
 *   `backup.schedule` (required there); `replicas`, `storageSize`, `storageClassName` optional.
 * - Resources applied to a real Yaook (targetRelease 2024.1) by a third party
 *   (drmtoboggan/yaook-caracal services/*.yaml): the shapes of Nova's split databases and
 *   per-cell message queue, Placement and VNC inside NovaDeployment, Nova's RBD volume backend,
 *   Glance's and Cinder's Ceph backends with `cephConfig`, Neutron's `novaRef`, ML2 config and
 *   OVN databases, `ingressClassName`.
 *
 * Where a field is required here but the source only shows it used, it is required because
 * the service cannot work without it (a Ceph backend without monitors, a Nova without its
 * cell databases), not because the CRD is known to require it. Strict objects: a misspelt
 * field fails here instead of being pruned by the API server without a word.
 */
import { z } from 'zod';

const name = z.string().min(1);
const Ref = z.strictObject({ name });
const replicas = z.int().min(1);
const quantity = z.string().regex(/^\d+(Ki|Mi|Gi|Ti)$/, { error: 'must be a size such as 8Gi' });
/** Five cron fields. */
const cron = z.string().regex(/^(\S+\s+){4}\S+$/, { error: 'must be a cron schedule' });
/** An OpenStack release as Yaook's targetRelease takes it: "2024.1". */
const release = z.string().regex(/^\d{4}\.[12]$/, { error: 'must be a release such as 2024.1' });

/** oslo.config sections: `{ section: { option: value } }`, passed through to the service. */
const OsloConfig = z.record(z.string(), z.record(z.string(), z.unknown()));

/** docs/upstream-facts.md#yaook.crd-common: proxy and backup.schedule are required. */
export const YaookDatabase = z.strictObject({
  replicas: replicas.optional(),
  storageClassName: name.optional(),
  storageSize: quantity.optional(),
  proxy: z.strictObject({ replicas: replicas.optional() }),
  backup: z.strictObject({ schedule: cron }),
});

const MessageQueue = z.strictObject({
  replicas: replicas.optional(),
  storageClassName: name.optional(),
  storageSize: quantity.optional(),
});

/** docs/upstream-facts.md#ingress-nginx.ingress-class: the class must name the controller's. */
const Ingress = z.strictObject({
  fqdn: z.string().regex(/^([a-z0-9-]+\.)+[a-z0-9-]+$/, { error: 'must be a host name' }),
  port: z.int().min(1).max(65535),
  ingressClassName: name,
});

const Api = z.strictObject({ replicas: replicas.optional(), ingress: Ingress });
const Memcached = z.strictObject({ replicas: replicas.optional() });
const Replicated = z.strictObject({ replicas: replicas.optional() });

/**
 * ceph.conf as a map of sections, with the monitors and fsid in `global`: without them the
 * operators fall back to built-in monitor addresses (a third party's report,
 * docs/upstream-facts.md#yaook.crd-cinder-ceph). uStart renders placeholders that
 * scripts/lib.sh `yaook_resource` fills from Rook before applying.
 */
const CephConfig = z.strictObject({
  global: z.strictObject({ mon_host: z.string().min(1), fsid: z.string().min(1) }),
});

const common = {
  targetRelease: release,
  region: z.strictObject({ name }),
  issuerRef: Ref,
  api: Api,
  database: YaookDatabase,
  memcached: Memcached,
};

const spec = <T extends z.ZodRawShape>(kind: string, shape: T) =>
  z.strictObject({
    apiVersion: z.literal('yaook.cloud/v1'),
    kind: z.literal(kind),
    metadata: z.strictObject({ name, namespace: name }),
    spec: z.strictObject(shape),
  });

export const KeystoneDeployment = spec('KeystoneDeployment', {
  ...common,
  keystoneConfig: OsloConfig,
});

/** docs/upstream-facts.md#yaook.crd-glance-ceph */
export const GlanceDeployment = spec('GlanceDeployment', {
  ...common,
  keystoneRef: Ref,
  backends: z.strictObject({
    ceph: z.strictObject({
      keyringReference: name,
      keyringUsername: name,
      keyringPoolname: name,
      cephConfig: CephConfig,
    }),
  }),
  glanceConfig: OsloConfig,
});

/** docs/upstream-facts.md#yaook.crd-nova, #yaook.crd-nova-rbd */
export const NovaDeployment = spec('NovaDeployment', {
  ...common,
  keystoneRef: Ref,
  database: z.strictObject({
    api: YaookDatabase,
    placement: YaookDatabase,
    cell0: YaookDatabase,
    cell1: YaookDatabase,
  }),
  messageQueue: z.strictObject({ cell1: MessageQueue }),
  placement: Api,
  vnc: Api,
  conductor: Replicated,
  scheduler: Replicated,
  metadata: Replicated,
  compute: z.strictObject({
    configTemplates: z
      .array(
        z.strictObject({
          nodeSelectors: z
            .array(z.strictObject({ matchLabels: z.record(z.string(), z.string()) }))
            .min(1),
          novaComputeConfig: OsloConfig,
          volumeBackends: z
            .strictObject({
              ceph: z.strictObject({
                enabled: z.boolean(),
                keyringSecretName: name,
                user: name,
                uuid: z.uuid(),
                cephConfig: CephConfig,
              }),
            })
            .optional(),
        }),
      )
      .min(1),
  }),
  novaConfig: OsloConfig,
});

const Ovsdb = z.strictObject({
  replicas: replicas.optional(),
  storageClassName: name.optional(),
  storageSize: quantity.optional(),
  backup: z.strictObject({ schedule: cron }),
});

/** docs/upstream-facts.md#yaook.crd-neutron-ovn, #yaook.ovn-bridge */
export const NeutronDeployment = spec('NeutronDeployment', {
  ...common,
  keystoneRef: Ref,
  novaRef: Ref,
  messageQueue: MessageQueue,
  neutronML2Config: OsloConfig,
  setup: z.strictObject({
    ovn: z.strictObject({
      northboundOVSDB: Ovsdb,
      southboundOVSDB: Ovsdb,
      controller: z.strictObject({
        configTemplates: z.array(
          z.strictObject({
            nodeSelectors: z
              .array(z.strictObject({ matchLabels: z.record(z.string(), z.string()) }))
              .min(1),
            bridgeConfig: z.array(
              z.strictObject({
                bridgeName: name,
                uplinkDevice: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, {
                  error: 'must be a host interface name',
                }),
                openstackPhysicalNetwork: name,
              }),
            ),
          }),
        ),
      }),
    }),
  }),
  neutronConfig: OsloConfig,
});

/** docs/upstream-facts.md#yaook.crd-cinder-ceph */
export const CinderDeployment = spec('CinderDeployment', {
  ...common,
  keystoneRef: Ref,
  messageQueue: MessageQueue,
  scheduler: Replicated,
  backends: z.record(
    z.string(),
    z.strictObject({
      volume: Replicated,
      rbd: z.strictObject({
        keyringReference: name,
        keyringUsername: name,
        cephConfig: CephConfig,
        backendConfig: z.looseObject({ rbd_pool: name, volume_backend_name: name }),
      }),
    }),
  ),
  cinderConfig: OsloConfig,
});

/** docs/upstream-facts.md#yaook.crd-horizon: no api/database; the ingress at the top. */
export const HorizonDeployment = spec('HorizonDeployment', {
  targetRelease: release,
  keystoneRef: Ref,
  issuerRef: Ref,
  ingress: Ingress,
  replicas,
});

/** Every Yaook kind uStart applies, by kind. */
export const YAOOK_SCHEMAS = {
  KeystoneDeployment,
  GlanceDeployment,
  NovaDeployment,
  NeutronDeployment,
  CinderDeployment,
  HorizonDeployment,
} as const;

/** One Yaook resource, whichever kind it is; an unknown kind fails. */
export const YaookResource = z.discriminatedUnion('kind', [
  KeystoneDeployment,
  GlanceDeployment,
  NovaDeployment,
  NeutronDeployment,
  CinderDeployment,
  HorizonDeployment,
]);

/**
 * ingress-nginx's values uStart sets (kubernetes/ingress-nginx charts/ingress-nginx/values.yaml
 * at helm-chart-4.11.3: controller.service.type, controller.ingressClassResource.{name,
 * enabled, default}); docs/upstream-facts.md#ingress-nginx.service-type.
 */
export const IngressNginxValues = z.strictObject({
  controller: z.strictObject({
    service: z.strictObject({
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']),
      annotations: z.record(z.string(), z.string()).optional(),
    }),
    ingressClassResource: z.strictObject({
      name,
      enabled: z.boolean(),
      default: z.boolean(),
    }),
    // image.digest and admissionWebhooks.patch.image.digest (values.yaml @ helm-chart-4.11.3;
    // _helpers.tpl `ingress-nginx.imageDigest` appends `@<digest>` only when set).
    image: z.strictObject({ digest: z.literal('') }).optional(),
    admissionWebhooks: z
      .strictObject({
        patch: z.strictObject({ image: z.strictObject({ digest: z.literal('') }) }),
      })
      .optional(),
  }),
});
