/**
 * uStack: OpenStack run by the Yaook operators (docs/uStack-operators.md says why Yaook).
 * One custom resource per service, built from the plan; the operators create databases,
 * message queues and memcached for each service themselves. Only fields uStart decides are
 * set; everything else keeps the operators' defaults.
 */
import { providerNetwork } from '../../plan/host-links.js';
import { createHash } from 'node:crypto';
import { endpointFqdn, type OpenStackEndpoint } from '../../plan/endpoints.js';
import type { HostContext } from '../context.js';
import { replicatedPoolSpec } from './ceph.js';
import { neutronMl2Config, ovnControllerTemplates } from './ustack-network.js';
import { toYaml, toYamlDocuments } from '../yaml.js';

export const YAOOK_API = 'yaook.cloud/v1';
export const YAOOK_NAMESPACE = 'yaook';

/**
 * The OpenStack services in install order, each with its Yaook kind. Placement has no kind of
 * its own: it is part of NovaDeployment (docs/upstream-facts.md#yaook.kinds).
 */
export const YAOOK_SERVICES = {
  keystone: 'KeystoneDeployment',
  glance: 'GlanceDeployment',
  nova: 'NovaDeployment',
  neutron: 'NeutronDeployment',
  cinder: 'CinderDeployment',
  horizon: 'HorizonDeployment',
} as const;
export type YaookService = keyof typeof YAOOK_SERVICES;

/**
 * The ingress class of every Yaook ingress. ingress-nginx ignores Ingresses without a class
 * unless told otherwise (docs/upstream-facts.md#ingress-nginx.ingress-class); the chart's
 * values (ingressNginxValues) make this class the default as well.
 */
export const INGRESS_CLASS = 'nginx';

/**
 * Placeholders for what only Rook knows once Ceph runs: the monitors' addresses and the
 * cluster's fsid. scripts/lib.sh `yaook_resource` fills them from Rook's ConfigMap and Secret
 * before a resource is applied (docs/upstream-facts.md#rook.mon-endpoints, #rook.fsid).
 */
export const CEPH_MON_HOST = '@ceph-mon-host@';
export const CEPH_FSID = '@ceph-fsid@';

/** The Ceph pool of each OpenStack service that stores data in Ceph. */
export const CEPH_POOLS = {
  glance: 'glance-images',
  cinder: 'cinder-volumes',
  nova: 'vms',
} as const;

/**
 * The Ceph client of each service and what it may do, as Rook's CephClient example for
 * OpenStack grants it (docs/upstream-facts.md#rook.client-caps): Nova writes its disks in `vms`,
 * attaches Cinder's volumes and clones Glance's images (read-only).
 */
export const CEPH_CLIENTS = {
  glance: `profile rbd pool=${CEPH_POOLS.glance}`,
  cinder: `profile rbd pool=${CEPH_POOLS.cinder}, profile rbd-read-only pool=${CEPH_POOLS.glance}`,
  nova: `profile rbd pool=${CEPH_POOLS.nova}, profile rbd pool=${CEPH_POOLS.cinder}, profile rbd-read-only pool=${CEPH_POOLS.glance}`,
} as const;
type CephUser = keyof typeof CEPH_CLIENTS;

/** The Secret holding a client's keyring, as Rook names it; copied into the Yaook namespace. */
export const cephKeyringSecret = (user: CephUser) => `rook-ceph-client-${user}`;

function replicas(ctx: HostContext): number {
  return Math.min(3, ctx.controllers.length);
}

function ingress(ctx: HostContext, endpoint: OpenStackEndpoint) {
  return { fqdn: endpointFqdn(ctx.plan, endpoint), port: 443, ingressClassName: INGRESS_CLASS };
}

/** A database as Yaook's common options describe it: proxy and backup are required. */
function database(ctx: HostContext) {
  const n = replicas(ctx);
  return {
    replicas: n,
    storageClassName: 'ceph-block',
    storageSize: '8Gi',
    proxy: { replicas: n },
    backup: { schedule: '0 */6 * * *' },
  };
}

function messageQueue(ctx: HostContext) {
  return { replicas: replicas(ctx), storageClassName: 'ceph-block', storageSize: '8Gi' };
}

/** ceph.conf as Yaook takes it: sections, each a map of options. */
const cephConfig = () => ({ global: { mon_host: CEPH_MON_HOST, fsid: CEPH_FSID } });

function common(ctx: HostContext, endpoint: OpenStackEndpoint) {
  return {
    targetRelease: ctx.plan.openstack.release,
    region: { name: ctx.plan.openstack.region },
    issuerRef: { name: 'ca-issuer' },
    api: { replicas: replicas(ctx), ingress: ingress(ctx, endpoint) },
    database: database(ctx),
    memcached: { replicas: replicas(ctx) },
  };
}

/**
 * The UUID of the libvirt secret that holds Nova's Ceph key on every hypervisor: stable for
 * a site (a re-render must not change it), derived from the site's name and domain.
 */
export function libvirtSecretUuid(ctx: HostContext): string {
  const h = createHash('sha256')
    .update(`ustart-libvirt-ceph:${ctx.plan.site.name}.${ctx.plan.site.domain}`)
    .digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const KEYSTONE_REF = { keystoneRef: { name: 'keystone' } };
const COMPUTE_SELECTOR = { matchLabels: { 'compute.yaook.cloud/hypervisor': 'true' } };

/** The custom resource of one service. */
export function yaookResource(ctx: HostContext, service: YaookService): Record<string, unknown> {
  const n = replicas(ctx);
  const specs: Record<YaookService, () => Record<string, unknown>> = {
    keystone: () => ({ ...common(ctx, 'keystone'), keystoneConfig: {} }),
    // docs/upstream-facts.md#yaook.crd-glance-ceph
    glance: () => ({
      ...common(ctx, 'glance'),
      ...KEYSTONE_REF,
      backends: {
        ceph: {
          keyringReference: cephKeyringSecret('glance'),
          keyringUsername: 'glance',
          keyringPoolname: CEPH_POOLS.glance,
          cephConfig: cephConfig(),
        },
      },
      glanceConfig: {
        DEFAULT: { show_image_direct_url: true },
        glance_store: { default_backend: 'ceph' },
      },
    }),
    // docs/upstream-facts.md#yaook.crd-nova, #yaook.crd-nova-rbd
    nova: () => ({
      ...common(ctx, 'nova'),
      ...KEYSTONE_REF,
      database: {
        api: database(ctx),
        placement: database(ctx),
        cell0: database(ctx),
        cell1: database(ctx),
      },
      messageQueue: { cell1: messageQueue(ctx) },
      placement: { replicas: n, ingress: ingress(ctx, 'placement') },
      vnc: { replicas: n, ingress: ingress(ctx, 'novnc') },
      conductor: { replicas: n },
      scheduler: { replicas: n },
      metadata: { replicas: n },
      compute: {
        configTemplates: [
          {
            nodeSelectors: [COMPUTE_SELECTOR],
            novaComputeConfig: {
              libvirt: {
                virt_type: 'kvm',
                images_type: 'rbd',
                images_rbd_pool: CEPH_POOLS.nova,
                images_rbd_ceph_conf: '/etc/ceph/ceph.conf',
                rbd_user: 'nova',
              },
            },
            volumeBackends: {
              ceph: {
                enabled: true,
                keyringSecretName: cephKeyringSecret('nova'),
                user: 'nova',
                uuid: libvirtSecretUuid(ctx),
                cephConfig: cephConfig(),
              },
            },
          },
        ],
      },
      novaConfig: {},
    }),
    // docs/upstream-facts.md#yaook.crd-neutron-ovn
    neutron: () => ({
      ...common(ctx, 'neutron'),
      ...KEYSTONE_REF,
      novaRef: { name: 'nova' },
      messageQueue: messageQueue(ctx),
      neutronML2Config: neutronMl2Config(ctx),
      setup: {
        ovn: {
          northboundOVSDB: ovsdb(ctx),
          southboundOVSDB: ovsdb(ctx),
          controller: { configTemplates: ovnControllerTemplates(ctx) },
        },
      },
      neutronConfig: {},
    }),
    // docs/upstream-facts.md#yaook.crd-cinder-ceph
    cinder: () => ({
      ...common(ctx, 'cinder'),
      ...KEYSTONE_REF,
      messageQueue: messageQueue(ctx),
      scheduler: { replicas: n },
      backends: {
        ceph: {
          volume: { replicas: n },
          rbd: {
            keyringReference: cephKeyringSecret('cinder'),
            keyringUsername: 'cinder',
            cephConfig: cephConfig(),
            backendConfig: { volume_backend_name: 'ceph', rbd_pool: CEPH_POOLS.cinder },
          },
        },
      },
      cinderConfig: {},
    }),
    horizon: () => ({
      targetRelease: ctx.plan.openstack.release,
      ...KEYSTONE_REF,
      issuerRef: { name: 'ca-issuer' },
      ingress: ingress(ctx, 'horizon'),
      replicas: n,
    }),
  };
  return {
    apiVersion: YAOOK_API,
    kind: YAOOK_SERVICES[service],
    metadata: { name: service, namespace: YAOOK_NAMESPACE },
    spec: specs[service](),
  };
}

function ovsdb(ctx: HostContext) {
  return {
    replicas: replicas(ctx),
    storageClassName: 'ceph-block',
    storageSize: '4Gi',
    backup: { schedule: '0 */6 * * *' },
  };
}

/** A generator per service: `yaook-keystone`, `yaook-glance`, … */
export function yaookGenerator(service: YaookService) {
  return (ctx: HostContext) => toYamlDocuments([yaookResource(ctx, service)]);
}

/**
 * ingress-nginx's values. The chart's own Service stays inside the cluster (ClusterIP): its
 * default type, LoadBalancer, gets no address on bare metal (kube-vip serves only Services
 * that name theirs), so `helm --wait` would wait for ever (docs/upstream-facts.md#ingress-nginx.service-type).
 * The public VIP is uStart's own Service `openstack-public` (yaookInfra). The class is the
 * default, so an Ingress without a class is served too.
 */
export function ingressNginxValues(_ctx: HostContext): string {
  return toYaml({
    controller: {
      service: { type: 'ClusterIP' },
      ingressClassResource: { name: INGRESS_CLASS, enabled: true, default: true },
      // By tag, not the chart's default digest: the bundle narrows a multi-arch index to the
      // site's architectures, so the site registry serves it under another digest than
      // upstream's (docs/bundle-format.md "Platforms"). Each blob is still checked by digest.
      image: { digest: '' },
      admissionWebhooks: { patch: { image: { digest: '' } } },
    },
  });
}

/**
 * The namespace, the CA issuer the services' certificates come from, the Ceph pools and
 * clients of Glance, Cinder and Nova, and the ingress controller's Service on the public VIP
 * (announced by kube-vip).
 */
export function yaookInfra(ctx: HostContext): string {
  return toYamlDocuments([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: YAOOK_NAMESPACE } },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'ca-issuer', namespace: YAOOK_NAMESPACE },
      spec: { ca: { secretName: 'root-ca' } },
    },
    ...(Object.keys(CEPH_POOLS) as CephUser[]).map((user) => ({
      apiVersion: 'ceph.rook.io/v1',
      kind: 'CephBlockPool',
      metadata: { name: CEPH_POOLS[user], namespace: 'rook-ceph' },
      spec: replicatedPoolSpec(ctx),
    })),
    ...(Object.keys(CEPH_CLIENTS) as CephUser[]).map((user) => ({
      apiVersion: 'ceph.rook.io/v1',
      kind: 'CephClient',
      metadata: { name: user, namespace: 'rook-ceph' },
      spec: { caps: { mon: 'profile rbd', osd: CEPH_CLIENTS[user] } },
    })),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'openstack-public',
        namespace: 'ingress-nginx',
        annotations: { 'kube-vip.io/loadbalancerIPs': ctx.plan.openstack.publicVip },
      },
      spec: {
        type: 'LoadBalancer',
        // docs/upstream-facts.md#ingress-nginx.selector: the controller pods of this release.
        selector: {
          'app.kubernetes.io/name': 'ingress-nginx',
          'app.kubernetes.io/instance': 'ingress-nginx',
          'app.kubernetes.io/component': 'controller',
        },
        ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }],
      },
    },
  ]);
}

/** The smoke test's inputs: what to create and where the public API is. */
export function smokeTestConfig(ctx: HostContext): string {
  const provider = providerNetwork(ctx.plan);
  return toYaml({
    authUrl: `https://${endpointFqdn(ctx.plan, 'keystone')}/v3`,
    region: ctx.plan.openstack.region,
    publicVip: ctx.plan.openstack.publicVip,
    network: { name: 'ustart-smoke', cidr: '192.168.250.0/24' },
    externalNetwork: provider ? { name: provider.name, cidr: provider.cidr } : null,
    flavor: { name: 'ustart.smoke', vcpus: 1, ramMiB: 512, diskGB: 1 },
    image: { name: 'ustart-smoke-cirros', file: 'files/images/cirros.qcow2' },
  });
}
