/**
 * uStack: OpenStack run by the Yaook operators (docs/uStack-operators.md says why Yaook).
 * One custom resource per service, built from the plan; the operators create databases,
 * message queues and memcached for each service themselves. Only fields uStart decides are
 * set; everything else keeps the operators' defaults.
 */
import type { HostContext } from '../context.js';
import { toYaml, toYamlDocuments } from '../yaml.js';
import { neutronMl2Config, ovnControllerTemplates } from './ustack-network.js';

export const YAOOK_API = 'yaook.cloud/v1';
export const YAOOK_NAMESPACE = 'yaook';

/** The OpenStack services in install order, each with its Yaook kind. */
export const YAOOK_SERVICES = {
  keystone: 'KeystoneDeployment',
  glance: 'GlanceDeployment',
  placement: 'PlacementDeployment',
  nova: 'NovaDeployment',
  neutron: 'NeutronDeployment',
  cinder: 'CinderDeployment',
  horizon: 'HorizonDeployment',
} as const;
export type YaookService = keyof typeof YAOOK_SERVICES;

function replicas(ctx: HostContext): number {
  return Math.min(3, ctx.controllers.length);
}

function common(ctx: HostContext, service: YaookService) {
  const n = replicas(ctx);
  return {
    targetRelease: ctx.plan.openstack.release,
    region: { name: ctx.plan.openstack.region },
    issuerRef: { name: 'ca-issuer' },
    api: {
      replicas: n,
      ingress: { fqdn: `${service}.${ctx.plan.site.domain}`, port: 443 },
    },
    database: {
      replicas: n,
      storageClassName: 'ceph-block',
      storageSize: '8Gi',
      proxy: { replicas: n },
      backup: { schedule: '0 */6 * * *' },
    },
    memcached: { replicas: n },
  };
}

function withMessageQueue(ctx: HostContext) {
  return {
    messageQueue: { replicas: replicas(ctx), storageClassName: 'ceph-block', storageSize: '8Gi' },
  };
}

const COMPUTE_SELECTOR = { matchLabels: { 'compute.yaook.cloud/hypervisor': 'true' } };

/** The custom resource of one service. */
export function yaookResource(ctx: HostContext, service: YaookService): Record<string, unknown> {
  const base = common(ctx, service);
  const specs: Record<YaookService, Record<string, unknown>> = {
    keystone: { ...base, keystoneConfig: {} },
    glance: {
      ...base,
      keystoneRef: { name: 'keystone' },
      backends: {
        ceph: { keyringReference: 'rook-ceph-client-glance', keyringUsername: 'glance' },
      },
      glanceConfig: {},
    },
    placement: { ...base, keystoneRef: { name: 'keystone' }, placementConfig: {} },
    nova: {
      ...base,
      ...withMessageQueue(ctx),
      keystoneRef: { name: 'keystone' },
      placementRef: { name: 'placement' },
      compute: {
        configTemplates: [
          {
            nodeSelectors: [COMPUTE_SELECTOR],
            novaComputeConfig: { libvirt: { virt_type: 'kvm', images_type: 'rbd' } },
          },
        ],
      },
      novaConfig: {},
    },
    neutron: {
      ...base,
      ...withMessageQueue(ctx),
      keystoneRef: { name: 'keystone' },
      setup: { ovn: { controller: { configTemplates: ovnControllerTemplates(ctx) } } },
      neutronConfig: {},
      neutronML2Config: neutronMl2Config(ctx),
    },
    cinder: {
      ...base,
      ...withMessageQueue(ctx),
      keystoneRef: { name: 'keystone' },
      backends: {
        ceph: {
          rbd: {
            keyringReference: 'rook-ceph-client-cinder',
            keyringUsername: 'cinder',
            backendConfig: { rbd_pool: CEPH_POOLS.cinder },
          },
        },
      },
      cinderConfig: {},
    },
    horizon: {
      targetRelease: ctx.plan.openstack.release,
      keystoneRef: { name: 'keystone' },
      ingress: { fqdn: `horizon.${ctx.plan.site.domain}`, port: 443 },
      replicas: replicas(ctx),
      memcached: { replicas: replicas(ctx) },
    },
  };
  return {
    apiVersion: YAOOK_API,
    kind: YAOOK_SERVICES[service],
    metadata: { name: service, namespace: YAOOK_NAMESPACE },
    spec: specs[service],
  };
}

/** A generator per service: `yaook-keystone`, `yaook-glance`, … */
export function yaookGenerator(service: YaookService) {
  return (ctx: HostContext) => toYamlDocuments([yaookResource(ctx, service)]);
}

/** The Ceph pool of each OpenStack service that stores data in Ceph. */
export const CEPH_POOLS = { glance: 'glance-images', cinder: 'cinder-volumes' } as const;

/**
 * The namespace, the CA issuer the services' certificates come from, the Ceph pools and
 * clients of Glance and Cinder, and the ingress controller's Service on the public VIP
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
    ...(['glance', 'cinder'] as const).flatMap((user) => [
      {
        apiVersion: 'ceph.rook.io/v1',
        kind: 'CephBlockPool',
        metadata: { name: CEPH_POOLS[user], namespace: 'rook-ceph' },
        spec: { failureDomain: 'host', replicated: { size: 3 } },
      },
      {
        apiVersion: 'ceph.rook.io/v1',
        kind: 'CephClient',
        metadata: { name: user, namespace: 'rook-ceph' },
        spec: {
          caps: { mon: 'profile rbd', osd: `profile rbd pool=${CEPH_POOLS[user]}` },
        },
      },
    ]),
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
        selector: {
          'app.kubernetes.io/name': 'ingress-nginx',
          'app.kubernetes.io/component': 'controller',
        },
        ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }],
      },
    },
  ]);
}

/** The smoke test's inputs: what to create and where the public API is. */
export function smokeTestConfig(ctx: HostContext): string {
  const provider = ctx.plan.networks.find((n) => n.purpose === 'provider');
  return toYaml({
    authUrl: `https://keystone.${ctx.plan.site.domain}/v3`,
    region: ctx.plan.openstack.region,
    publicVip: ctx.plan.openstack.publicVip,
    network: { name: 'ustart-smoke', cidr: '192.168.250.0/24' },
    externalNetwork: provider ? { name: provider.name, cidr: provider.cidr } : null,
    flavor: { name: 'ustart.smoke', vcpus: 1, ramMiB: 512, diskGB: 1 },
    image: { name: 'ustart-smoke-cirros', file: 'files/images/cirros.qcow2' },
  });
}
