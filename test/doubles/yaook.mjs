/**
 * Yaook's operators as the uStack doubles model them: what a Yaook resource must look like
 * (uStart's zod schemas, derived from the sources in docs/upstream-facts.md#yaook.*), what the
 * operators would need before they could finish it, and where its pods could run.
 *
 * Scheduling (docs/upstream-facts.md#yaook.scheduling-labels): every Yaook component has a
 * scheduling key; it runs only on nodes that carry that key as a label (or one of the group
 * keys it also listens to), and tolerates taints with those keys only. On a cluster whose
 * nodes carry none of the keys nothing is scheduled at all. Which component listens to which
 * key is read from Yaook's docs and Yaook's own CLI (yaookctl's node profiles) where they say
 * so; where only the key's name says it (memcached → infra.yaook.cloud/caching, nova's
 * scheduler and conductor → compute.yaook.cloud/nova-any-service, cinder's →
 * block-storage.yaook.cloud/cinder-any-service) the ledger marks it as inferred.
 */
import { YaookResource } from '../../src/render/schemas/yaook.ts';
import { unschedulable } from './scheduling.mjs';

/** The operator release (in namespace yaook) that reconciles each kind. */
export const OPERATOR_OF = {
  KeystoneDeployment: 'yaook-keystone',
  GlanceDeployment: 'yaook-glance',
  NovaDeployment: 'yaook-nova',
  NeutronDeployment: 'yaook-neutron',
  CinderDeployment: 'yaook-cinder',
  HorizonDeployment: 'yaook-horizon',
};
export const YAOOK_KINDS = Object.keys(OPERATOR_OF);

/** Why `o` does not meet Yaook's shape, or undefined. */
export function shapeProblem(o) {
  const r = YaookResource.safeParse(o);
  if (r.success) return undefined;
  return r.error.issues
    .slice(0, 3)
    .map((i) => `spec field ${i.path.join('.')}: ${i.message}`)
    .join('; ');
}

/** A pod that runs only on nodes with one of `keys` as a label and tolerates only those. */
function yaookPod(keys) {
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: keys.map((key) => ({
            matchExpressions: [{ key, operator: 'Exists' }],
          })),
        },
      },
    },
    tolerations: keys.map((key) => ({ key, operator: 'Exists' })),
  };
}

const API = 'any.yaook.cloud/api';
const INFRA = 'infra.yaook.cloud/any';

/** The workloads the operators make for a resource, with the keys each listens to. */
export function yaookWorkloads(o) {
  const service = o.kind.replace(/Deployment$/, '').toLowerCase();
  const w = (what, keys, extra = {}) => ({
    what: `${o.kind} ${what}`,
    pod: yaookPod(keys),
    ...extra,
  });
  const out = [
    // Database bootstrap, keystone bootstrap, db sync: the operators' Jobs.
    w('operator jobs', ['operator.yaook.cloud/any', `operator.yaook.cloud/${service}`]),
  ];
  const spec = o.spec ?? {};
  if (spec.api) out.push(w('API', [API]));
  if (spec.database) out.push(w('database (MySQLService)', [INFRA]));
  if (spec.messageQueue) out.push(w('message queue (AMQPServer)', [INFRA]));
  if (spec.memcached) out.push(w('memcached', ['infra.yaook.cloud/caching', INFRA]));
  if (o.kind === 'HorizonDeployment') out.push(w('dashboard', [API]));
  if (o.kind === 'NovaDeployment') {
    out.push(w('placement API and VNC proxy', [API]));
    out.push(w('scheduler, conductor and metadata', ['compute.yaook.cloud/nova-any-service']));
    out.push(w('nova-compute', ['compute.yaook.cloud/hypervisor']));
  }
  if (o.kind === 'CinderDeployment')
    out.push(w('scheduler and volume', ['block-storage.yaook.cloud/cinder-any-service']));
  if (o.kind === 'NeutronDeployment') {
    out.push(w('OVN northd and OVSDB', ['network.yaook.cloud/neutron-northd']));
    out.push(
      w('OVN agent', ['network.yaook.cloud/neutron-ovn-agent', 'compute.yaook.cloud/hypervisor']),
    );
  }
  return out;
}

/** Why some workload of `o` could never be scheduled on `nodes`, or undefined. */
export function yaookSchedulingProblem(o, nodes) {
  if (nodes.length === 0) return undefined;
  const problem = unschedulable(yaookWorkloads(o), nodes);
  return problem
    ? `${problem} (Yaook runs a component only on nodes labelled with its scheduling key: docs/upstream-facts.md#yaook.scheduling-labels)`
    : undefined;
}
