/**
 * The cluster the kubectl, helm, clusterctl and openstack doubles share, for the uStack and
 * uGarden phases: objects as applied (objects.json, the format kubectl.mjs keeps), status
 * computed from them the way the operators would report it, and the controllers that act on
 * their own in a real cluster (Rook's client keyrings, kube-vip's address, Keystone's admin
 * Secret, Flux applying the site's git repository, Cluster API reporting a cluster Ready).
 *
 * What the real API server and operators would refuse, this refuses too: a custom resource
 * whose CRD is not installed, an object that does not validate against its schema
 * (kubernetes-models for Kubernetes, cert-manager and Flux kinds; required fields for Yaook
 * and Cluster API), a reference to something that does not exist. Where a real operator would
 * wait for ever (no operator installed, a missing Secret), the double refuses at once and
 * says so, so a wrong order fails a test in seconds rather than at a step's timeout.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import {
  clusterNetworkProblem,
  endpointLostWithFirstMachine,
  endpointSource,
  givenEndpointProblem,
} from './capo-endpoint.mjs';
import { cephClusterProblem } from './charts.mjs';
import { DIR, at, clusterNodes, pemBody, readState, refuse, writeState } from './lib.mjs';
import { OPERATOR_OF, YAOOK_KINDS, shapeProblem, yaookSchedulingProblem } from './yaook.mjs';

/**
 * Schemas by apiVersion and kind (kubernetes-models). Only the kinds these phases apply are
 * imported: each double is one bundled file started for every call, and all of
 * kubernetes-models would make every call of every step slow.
 */
const MODELS = {
  v1: { Namespace, Secret, Service, ConfigMap },
  'apps/v1': { Deployment },
  'apiextensions.k8s.io/v1': { CustomResourceDefinition },
  'storage.k8s.io/v1': { StorageClass },
  'cert-manager.io/v1': { Issuer },
  'source.toolkit.fluxcd.io/v1': { GitRepository },
  'kustomize.toolkit.fluxcd.io/v1': { Kustomization },
};

/** Built-in kinds: [kind, apiVersion, plural, namespaced, names kubectl accepts]. */
const BUILTIN = [
  ['Namespace', 'v1', 'namespaces', false, ['ns', 'namespace']],
  ['Secret', 'v1', 'secrets', true, ['secret']],
  ['Service', 'v1', 'services', true, ['svc', 'service']],
  ['ConfigMap', 'v1', 'configmaps', true, ['cm', 'configmap']],
  ['ServiceAccount', 'v1', 'serviceaccounts', true, ['sa', 'serviceaccount']],
  ['PersistentVolumeClaim', 'v1', 'persistentvolumeclaims', true, ['pvc']],
  ['Deployment', 'apps/v1', 'deployments', true, ['deploy', 'deployment']],
  ['DaemonSet', 'apps/v1', 'daemonsets', true, ['ds', 'daemonset']],
  ['StatefulSet', 'apps/v1', 'statefulsets', true, ['sts', 'statefulset']],
  [
    'CustomResourceDefinition',
    'apiextensions.k8s.io/v1',
    'customresourcedefinitions',
    false,
    ['crd', 'crds', 'customresourcedefinition'],
  ],
  ['StorageClass', 'storage.k8s.io/v1', 'storageclasses', false, ['sc', 'storageclass']],
  ['ClusterRole', 'rbac.authorization.k8s.io/v1', 'clusterroles', false, ['clusterrole']],
  [
    'ClusterRoleBinding',
    'rbac.authorization.k8s.io/v1',
    'clusterrolebindings',
    false,
    ['clusterrolebinding'],
  ],
];

/** The custom resources of uStack and uGarden, by where their CRD comes from. */
const CRD_SOURCES = {
  // Helm charts, by chart name: their CRDs are installed with the chart and stay after an
  // uninstall, as Helm leaves CRDs in place.
  'chart:crds': YAOOK_KINDS.map((k) => ['yaook.cloud', 'v1', k]),
  'chart:cert-manager': [
    ['cert-manager.io', 'v1', 'Issuer'],
    ['cert-manager.io', 'v1', 'ClusterIssuer'],
    ['cert-manager.io', 'v1', 'Certificate'],
    ['cert-manager.io', 'v1', 'CertificateRequest'],
    ['acme.cert-manager.io', 'v1', 'Order'],
    ['acme.cert-manager.io', 'v1', 'Challenge'],
  ],
  // docs/upstream-facts.md#rook.monitoring-crds: the Prometheus operator's CRDs, which Rook
  // needs before it can finish a CephCluster with monitoring on.
  'chart:kube-prometheus-stack': [
    ['monitoring.coreos.com', 'v1', 'ServiceMonitor'],
    ['monitoring.coreos.com', 'v1', 'PodMonitor'],
    ['monitoring.coreos.com', 'v1', 'PrometheusRule'],
  ],
  'chart:rook-ceph': [
    ['ceph.rook.io', 'v1', 'CephCluster'],
    ['ceph.rook.io', 'v1', 'CephBlockPool'],
    ['ceph.rook.io', 'v1', 'CephClient'],
  ],
  // clusterctl init: gone again with clusterctl delete --include-crd.
  // docs/upstream-facts.md#capi.crs: ClusterResourceSet is part of the core provider (feature
  // gate on by default in v1.9.5).
  'capi:cluster-api': [
    ['cluster.x-k8s.io', 'v1beta1', 'Cluster'],
    ['cluster.x-k8s.io', 'v1beta1', 'MachineDeployment'],
    ['cluster.x-k8s.io', 'v1beta1', 'Machine'],
    ['addons.cluster.x-k8s.io', 'v1beta1', 'ClusterResourceSet'],
    ['addons.cluster.x-k8s.io', 'v1beta1', 'ClusterResourceSetBinding'],
  ],
  'capi:kubeadm/BootstrapProvider': [
    ['bootstrap.cluster.x-k8s.io', 'v1beta1', 'KubeadmConfigTemplate'],
    ['bootstrap.cluster.x-k8s.io', 'v1beta1', 'KubeadmConfig'],
  ],
  'capi:kubeadm/ControlPlaneProvider': [
    ['controlplane.cluster.x-k8s.io', 'v1beta1', 'KubeadmControlPlane'],
  ],
  'capi:openstack': [
    ['infrastructure.cluster.x-k8s.io', 'v1beta1', 'OpenStackCluster'],
    ['infrastructure.cluster.x-k8s.io', 'v1beta1', 'OpenStackMachineTemplate'],
  ],
};
/** Groups whose objects need their CRD installed; other custom resources (uMetal's) are taken as they are. */
const STRICT_GROUPS = /(^|\.)(yaook\.cloud|cert-manager\.io|toolkit\.fluxcd\.io|x-k8s\.io)$/;
/** Namespaces clusterctl init creates, per provider. */
export const CAPI_NAMESPACES = {
  'cluster-api': 'capi-system',
  'kubeadm/BootstrapProvider': 'capi-kubeadm-bootstrap-system',
  'kubeadm/ControlPlaneProvider': 'capi-kubeadm-control-plane-system',
  openstack: 'capo-system',
};
const FLUX_LABEL = 'kustomize.toolkit.fluxcd.io/name';
/** Where Gitea keeps its repositories: the volume of the namespace its release runs in. */
export const GITEA_NAMESPACE = 'ustart-git';
export const giteaRepos = () => join(DIR, 'volumes', GITEA_NAMESPACE, 'repositories');

const plural = (kind) => `${kind.toLowerCase()}s`;
const groupOf = (apiVersion) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

/** Every CRD the cluster has: applied ones, Helm's, and clusterctl's providers'. */
function crds(state) {
  const out = new Map();
  const add = ([group, version, kind]) =>
    out.set(`${plural(kind)}.${group}`, { group, version, kind, plural: plural(kind) });
  for (const o of Object.values(state.objects))
    if (o.kind === 'CustomResourceDefinition') {
      const v = o.spec.versions?.[0]?.name ?? 'v1';
      add([o.spec.group, v, o.spec.names.kind]);
    }
  for (const p of readState('clusterctl.json', null)?.providers ?? [])
    for (const [key, list] of Object.entries(CRD_SOURCES))
      if (key === `capi:${p.name}` || key === `capi:${p.name}/${p.type}`) list.forEach(add);
  return out;
}

/** A resource name as kubectl takes it (`svc`, `keystonedeployments.yaook.cloud`, `cluster`) as a kind. */
export function resolveKind(state, name) {
  const lower = name.toLowerCase();
  for (const [kind, apiVersion, pl, namespaced, names] of BUILTIN) {
    const group = groupOf(apiVersion);
    const forms = [kind.toLowerCase(), pl, ...names].flatMap((n) => [n, `${n}.${group}`]);
    if (forms.includes(lower)) return { kind, apiVersion, namespaced };
  }
  for (const [full, c] of crds(state)) {
    const short = c.kind.toLowerCase();
    if (lower === full || lower === c.plural || lower === short || lower === `${short}.${c.group}`)
      return { kind: c.kind, apiVersion: `${c.group}/${c.version}`, namespaced: true };
  }
  refuse(`error: the server doesn't have a resource type "${name}"`);
}

export function namespaced(kind) {
  const b = BUILTIN.find((k) => k[0] === kind);
  return b ? b[3] : true;
}

export const keyOf = (o, ns) =>
  `${o.kind}/${namespaced(o.kind) ? (o.metadata.namespace ?? ns ?? 'default') : 'default'}/${o.metadata.name}`;

/** The cluster's state: objects and Helm releases, with what controllers do applied. */
export function load() {
  if (!existsSync(at('/etc/kubernetes/admin.conf')))
    refuse('The connection to the server was refused (no admin.conf: is uMetal installed?)');
  const state = { objects: readState('objects.json', {}), helm: readState('helm.json', {}) };
  reconcile(state);
  return state;
}

export function save(state) {
  writeState('objects.json', state.objects);
  writeState('helm.json', state.helm);
}

export function find(state, kind, ns, name) {
  return state.objects[`${kind}/${namespaced(kind) ? (ns ?? 'default') : 'default'}/${name}`];
}

export function secretData(state, ns, name, key) {
  const s = find(state, 'Secret', ns, name);
  const v = s?.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

export function helmDeployed(state, ns, release) {
  return Boolean(state.helm[`${ns}/${release}`]);
}

export function namespaceExists(state, ns) {
  return Boolean(find(state, 'Namespace', undefined, ns));
}

/** What controllers do between two kubectl calls. */
function reconcile(state) {
  // Helm: the release's namespace (--create-namespace) and the chart's CRDs, once per install.
  for (const [key, release] of Object.entries(state.helm)) {
    const ns = key.split('/')[0];
    if (!namespaceExists(state, ns)) put(state, namespaceObject(ns));
    if (release.crdsInstalled) continue;
    // What a chart makes outside its namespace: only `helm uninstall` removes it.
    put(state, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: `${ns}-${key.split('/')[1]}`,
        annotations: {
          'meta.helm.sh/release-name': key.split('/')[1],
          'meta.helm.sh/release-namespace': ns,
        },
      },
      rules: [],
    });
    const chart = basename(release.chart ?? '').replace(/-v?[0-9][^-]*\.tgz$/, '');
    for (const [group, version, kind] of CRD_SOURCES[`chart:${chart}`] ?? [])
      put(state, crdObject(group, version, kind));
    release.crdsInstalled = true;
  }
  const providers = readState('clusterctl.json', null)?.providers ?? [];
  for (const p of providers) {
    const ns = CAPI_NAMESPACES[p.name] ?? CAPI_NAMESPACES[`${p.name}/${p.type}`];
    if (ns && !namespaceExists(state, ns)) put(state, namespaceObject(ns));
  }
  // Custom resources whose CRD is gone are gone too.
  const known = crds(state);
  const kinds = new Set([...known.values()].map((c) => `${c.group}/${c.kind}`));
  for (const [key, o] of Object.entries(state.objects)) {
    const group = groupOf(o.apiVersion ?? '');
    if (STRICT_GROUPS.test(group) && !kinds.has(`${group}/${o.kind}`)) delete state.objects[key];
  }
  fluxSync(state);
}

export const namespaceObject = (name) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});

function crdObject(group, version, kind) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural(kind)}.${group}` },
    spec: {
      group,
      names: { kind, plural: plural(kind), singular: kind.toLowerCase() },
      scope: 'Namespaced',
      versions: [{ name: version, served: true, storage: true }],
    },
  };
}

function put(state, o, ns) {
  state.objects[keyOf(o, ns)] = o;
}

/** Deletes an object and what it owns (ownerReferences by name), like the garbage collector. */
export function remove(state, key) {
  const o = state.objects[key];
  if (!o) return;
  delete state.objects[key];
  const ns = key.split('/')[1];
  for (const [k, other] of Object.entries(state.objects)) {
    if (k.split('/')[1] !== ns && namespaced(other.kind)) continue;
    if (
      (other.metadata.ownerReferences ?? []).some(
        (r) => r.kind === o.kind && r.name === o.metadata.name,
      )
    )
      remove(state, k);
  }
  if (o.kind === 'Namespace') {
    for (const [k, other] of Object.entries(state.objects))
      if (namespaced(other.kind) && k.split('/')[1] === o.metadata.name) remove(state, k);
    for (const r of Object.keys(state.helm))
      if (r.startsWith(`${o.metadata.name}/`)) delete state.helm[r];
    rmSync(join(DIR, 'volumes', o.metadata.name), { recursive: true, force: true });
  }
  if (o.kind === 'CustomResourceDefinition') {
    for (const [k, other] of Object.entries(state.objects))
      if (groupOf(other.apiVersion ?? '') === o.spec.group && other.kind === o.spec.names.kind)
        remove(state, k);
  }
  if (o.kind === 'Cluster') {
    // Cluster API deletes what makes up the cluster: its control plane, infrastructure,
    // machine deployments and the templates they use.
    const refs = [o.spec.controlPlaneRef, o.spec.infrastructureRef];
    for (const [k, other] of Object.entries(state.objects)) {
      if (k.split('/')[1] !== ns) continue;
      const part =
        refs.some((r) => r?.kind === other.kind && r?.name === other.metadata.name) ||
        other.spec?.clusterName === o.metadata.name ||
        other.metadata.name.startsWith(`${o.metadata.name}-`);
      if (part) remove(state, k);
    }
  }
}

/** Parses manifests the way kubectl does: JSON when it starts with `{`, else YAML documents. */
export function parseManifests(text, where) {
  if (text.trimStart().startsWith('{')) {
    try {
      return [JSON.parse(text)];
    } catch (e) {
      refuse(`error: error parsing ${where}: invalid JSON: ${e.message}`);
    }
  }
  const docs = parseAllDocuments(text);
  for (const d of docs)
    if (d.errors.length) refuse(`error: error parsing ${where}: ${d.errors[0].message}`);
  const objects = docs.map((d) => d.toJS()).filter(Boolean);
  for (const o of objects)
    if (!o.apiVersion || !o.kind || !o.metadata?.name)
      refuse(`error: ${where}: every object needs apiVersion, kind and metadata.name`);
  return objects;
}

function need(cond, o, what) {
  if (!cond) refuse(`${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}: ${what}`);
}

const get = (obj, path) => path.split('.').reduce((v, k) => v?.[k], obj);

/** Checks an object as the API server and admission would, and the references operators follow. */
export function validate(state, o, ns) {
  const group = groupOf(o.apiVersion);
  const model = MODELS[o.apiVersion]?.[o.kind];
  if (model) {
    try {
      new model(o).validate();
    } catch (e) {
      refuse(`error: ${o.kind} "${o.metadata.name}" is invalid: ${e.message}`);
    }
  } else if (STRICT_GROUPS.test(group) && !group.endsWith('x-k8s.io') && group !== 'yaook.cloud') {
    refuse(
      `error: no kind "${o.kind}" is registered for version "${o.apiVersion}" (in this double)`,
    );
  }
  if (STRICT_GROUPS.test(group)) {
    const crd = [...crds(state).values()].find((c) => c.group === group && c.kind === o.kind);
    need(
      crd && `${crd.group}/${crd.version}` === o.apiVersion,
      o,
      `no matches for kind "${o.kind}" in version "${o.apiVersion}": ensure CRDs are installed first`,
    );
  }
  const where = namespaced(o.kind) ? (o.metadata.namespace ?? ns ?? 'default') : undefined;
  // uMetal's manifests go into namespaces its charts make, which this model does not track.
  if (where && (STRICT_GROUPS.test(group) || ['Secret', 'Service'].includes(o.kind)))
    need(namespaceExists(state, where), o, `namespaces "${where}" not found`);
  if (group === 'yaook.cloud') validateYaook(state, o, where);
  if (group === 'ceph.rook.io' && o.kind !== 'CephCluster')
    need(
      Object.values(state.objects).some((c) => c.kind === 'CephCluster'),
      o,
      'no CephCluster: Rook would never create it (is uMetal installed?)',
    );
  if (o.kind === 'CephClient') {
    const pools = [...String(o.spec?.caps?.osd ?? '').matchAll(/pool=([\w.-]+)/g)].map((m) => m[1]);
    need(pools.length > 0, o, 'caps.osd names no pool');
    for (const p of pools)
      need(
        find(state, 'CephBlockPool', where, p),
        o,
        `caps name the pool ${p}, which does not exist`,
      );
  }
  if (o.kind === 'Issuer' && o.spec.ca) {
    const crt = secretData(state, where, o.spec.ca.secretName, 'tls.crt');
    need(
      crt && secretData(state, where, o.spec.ca.secretName, 'tls.key'),
      o,
      `Secret ${o.spec.ca.secretName} with tls.crt and tls.key does not exist; cert-manager would never issue`,
    );
    need(new X509Certificate(crt).ca, o, `${o.spec.ca.secretName} holds no CA certificate`);
  }
  if (o.kind === 'GitRepository') {
    need(
      repoOf(o.spec.url),
      o,
      `${o.spec.url} is not the site's git server (Gitea in ${GITEA_NAMESPACE})`,
    );
  }
  if (o.kind === 'Kustomization')
    need(
      find(state, 'GitRepository', where, o.spec.sourceRef.name),
      o,
      'its GitRepository does not exist',
    );
  if (group.endsWith('x-k8s.io')) validateCapi(o);
  if (o.kind === 'Service' && o.spec?.type === 'LoadBalancer')
    need(
      o.metadata.annotations?.['kube-vip.io/loadbalancerIPs'],
      o,
      'a LoadBalancer Service needs its address for kube-vip (kube-vip.io/loadbalancerIPs); there is no cloud load balancer on bare metal',
    );
}

/** Every value under `key` anywhere in `obj` (storageClassName, keyringReference, …). */
function valuesOf(obj, key, out = []) {
  if (Array.isArray(obj)) for (const v of obj) valuesOf(v, key, out);
  else if (obj && typeof obj === 'object')
    for (const [k, v] of Object.entries(obj)) {
      if (k === key && typeof v === 'string') out.push(v);
      else valuesOf(v, key, out);
    }
  return out;
}

/**
 * The Ceph monitors as ceph.conf's mon_host lists them, and the fsid, from what Rook keeps:
 * ConfigMap rook-ceph-mon-endpoints (data "a=10.0.0.1:6789,…") and Secret rook-ceph-mon (key
 * fsid) (docs/upstream-facts.md#rook.mon-endpoints, #rook.fsid).
 */
function rookCephAccess(state) {
  const endpoints = find(state, 'ConfigMap', 'rook-ceph', 'rook-ceph-mon-endpoints')?.data?.data;
  return {
    monHost: endpoints?.replace(/[a-z0-9_-]+=/g, ''),
    fsid: secretData(state, 'rook-ceph', 'rook-ceph-mon', 'fsid'),
  };
}

/** The ingress class the ingress-nginx release serves (docs/upstream-facts.md#ingress-nginx.ingress-class). */
function ingressClass(state) {
  const release = state.helm['ingress-nginx/ingress-nginx'];
  if (!release) return undefined;
  let values = {};
  try {
    values = parseAllDocuments(readFileSync(release.values, 'utf8'))[0]?.toJS() ?? {};
  } catch {
    values = {};
  }
  const c = values?.controller?.ingressClassResource ?? {};
  return { name: c.name ?? 'nginx', enabled: c.enabled ?? true, default: c.default ?? false };
}

function validateYaook(state, o, ns) {
  const spec = o.spec ?? {};
  need(ns === 'yaook', o, 'Yaook resources live in the namespace yaook');
  const shape = shapeProblem(o);
  need(!shape, o, `is invalid: ${shape} (docs/upstream-facts.md#yaook.crd-common)`);
  const operator = OPERATOR_OF[o.kind];
  need(
    helmDeployed(state, 'yaook', operator),
    o,
    `no ${operator} operator runs: it would never be reconciled`,
  );
  for (const [ref, kind] of [
    ['keystoneRef', 'KeystoneDeployment'],
    ['novaRef', 'NovaDeployment'],
  ])
    if (spec[ref])
      need(find(state, kind, ns, spec[ref].name), o, `${ref} ${spec[ref].name} does not exist yet`);
  if (spec.issuerRef)
    need(
      find(state, 'Issuer', ns, spec.issuerRef.name),
      o,
      `issuer ${spec.issuerRef.name} does not exist`,
    );
  for (const sc of new Set(valuesOf(spec, 'storageClassName')))
    need(find(state, 'StorageClass', undefined, sc), o, `StorageClass ${sc} does not exist`);
  // An Ingress whose class no controller serves is never published.
  const served = ingressClass(state);
  for (const cls of new Set(valuesOf(spec, 'ingressClassName')))
    need(
      served?.enabled && served.name === cls,
      o,
      `ingressClassName ${cls}: no ingress controller serves that class (ingress-nginx serves ${served?.name ?? 'nothing: not installed'})`,
    );
  // Ceph: the keyring Secret in Yaook's namespace with the key under the user's name, the
  // pool, and ceph.conf's monitors and fsid as Rook has them
  // (docs/upstream-facts.md#yaook.ceph-client-secret, #yaook.crd-cinder-ceph).
  const keyrings = [
    ...[spec.backends?.ceph].filter(Boolean).map((b) => [b.keyringReference, b.keyringUsername]),
    ...Object.values(spec.backends ?? {})
      .map((b) => b?.rbd)
      .filter(Boolean)
      .map((r) => [r.keyringReference, r.keyringUsername]),
    ...(spec.compute?.configTemplates ?? [])
      .map((t) => t.volumeBackends?.ceph)
      .filter(Boolean)
      .map((c) => [c.keyringSecretName, c.user]),
  ].filter(([secret]) => secret);
  for (const [secret, user] of keyrings) {
    need(find(state, 'Secret', ns, secret), o, `the keyring Secret ${secret} is not in ${ns}`);
    need(
      secretData(state, ns, secret, user),
      o,
      `the keyring Secret ${secret} has no key ${user}: Yaook reads the user's key under the user's name`,
    );
  }
  // docs/upstream-facts.md#yaook.crd-nova-rbd: disks in RBD need the pool, the Ceph user and
  // the volume backend that gives libvirt that user's key.
  for (const t of spec.compute?.configTemplates ?? []) {
    const libvirt = t.novaComputeConfig?.libvirt ?? {};
    if (libvirt.images_type !== 'rbd') continue;
    const ceph = t.volumeBackends?.ceph;
    need(
      ceph?.enabled && libvirt.images_rbd_pool && libvirt.rbd_user === ceph.user,
      o,
      'libvirt images_type rbd needs images_rbd_pool, rbd_user and volumeBackends.ceph (enabled, for that user): nova-compute could not open its disks',
    );
  }
  const pools = [
    ...valuesOf(spec, 'keyringPoolname'),
    ...valuesOf(spec, 'rbd_pool'),
    ...valuesOf(spec, 'images_rbd_pool'),
  ];
  for (const pool of pools)
    need(
      find(state, 'CephBlockPool', 'rook-ceph', pool),
      o,
      `the Ceph pool ${pool} does not exist (no CephBlockPool)`,
    );
  const rook = rookCephAccess(state);
  for (const mon of valuesOf(spec, 'mon_host'))
    need(
      mon === rook.monHost,
      o,
      `cephConfig mon_host "${mon}" is not Ceph's monitors (${rook.monHost ?? 'Rook has none'}): the services could not reach Ceph`,
    );
  for (const fsid of valuesOf(spec, 'fsid'))
    need(fsid === rook.fsid, o, `cephConfig fsid "${fsid}" is not the Ceph cluster's`);
  const nodes = clusterNodes();
  const labels = nodes.map((n) => n.labels);
  const templates = [
    ...(spec.compute?.configTemplates ?? []),
    ...(spec.setup?.ovn?.controller?.configTemplates ?? []),
  ];
  for (const t of templates)
    for (const sel of t.nodeSelectors ?? [])
      need(
        labels.some((l) => Object.entries(sel.matchLabels).every(([k, v]) => l[k] === v)),
        o,
        `no node matches ${JSON.stringify(sel.matchLabels)}: nothing would run there`,
      );
  const unplaced = yaookSchedulingProblem(o, nodes);
  need(!unplaced, o, unplaced);
}

const CAPI_REQUIRED = {
  Cluster: ['controlPlaneRef.name', 'infrastructureRef.name', 'clusterNetwork'],
  KubeadmControlPlane: [
    'replicas',
    'version',
    'machineTemplate.infrastructureRef.name',
    'kubeadmConfigSpec',
  ],
  MachineDeployment: [
    'clusterName',
    'template.spec.version',
    'template.spec.bootstrap.configRef.name',
    'template.spec.infrastructureRef.name',
  ],
  KubeadmConfigTemplate: ['template.spec'],
  OpenStackCluster: ['identityRef.name', 'identityRef.cloudName'],
  OpenStackMachineTemplate: ['template.spec.flavor', 'template.spec.image'],
  ClusterResourceSet: ['clusterSelector', 'resources'],
};

function validateCapi(o) {
  for (const path of CAPI_REQUIRED[o.kind] ?? [])
    need(get(o.spec, path) !== undefined, o, `spec.${path} is required`);
  // docs/upstream-facts.md#capi.crs: the selector must not be empty; resources are Secrets or
  // ConfigMaps of the set's namespace.
  if (o.kind === 'ClusterResourceSet') {
    const sel = o.spec.clusterSelector;
    need(
      Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length > 0,
      o,
      'spec.clusterSelector: Invalid value: the selector must not be empty',
    );
    for (const r of o.spec.resources)
      need(
        ['Secret', 'ConfigMap'].includes(r.kind),
        o,
        `resources: kind ${r.kind} is not Secret or ConfigMap`,
      );
  }
  const version = get(o.spec, 'version') ?? get(o.spec, 'template.spec.version');
  if (version !== undefined)
    need(/^v\d+\.\d+\.\d+$/.test(version), o, `version ${version} must look like v1.31.4`);
}

/** A repository of the site's Gitea from its in-cluster URL. */
export function repoOf(url) {
  const m =
    /^http:\/\/gitea-http\.ustart-git\.svc\.cluster\.local:3000\/([\w.-]+)\/([\w.-]+)\.git$/.exec(
      url ?? '',
    );
  return m ? join(giteaRepos(), m[1], `${m[2]}.git`) : undefined;
}

/** Side effects of applying an object: what controllers create in answer. */
export function applied(state, o, ns) {
  const where = o.metadata.namespace ?? ns;
  if (o.kind === 'CephCluster') {
    const nodes = clusterNodes();
    const problem = nodes.length ? cephClusterProblem(o, nodes) : undefined;
    if (problem) refuse(problem);
    // docs/upstream-facts.md#rook.monitoring-crds: Rook makes the mgr's ServiceMonitor before
    // any OSD and stops the whole cluster's orchestration when it cannot.
    if (o.spec?.monitoring?.enabled && !crds(state).has('servicemonitors.monitoring.coreos.com'))
      refuse(
        `CephCluster ${o.metadata.name}: spec.monitoring.enabled needs the ServiceMonitor CRD (monitoring.coreos.com), which is not installed; Rook would fail to start the mgr and never create an OSD. Install kube-prometheus-stack first.`,
      );
  }
  if (o.kind === 'CephClient') {
    put(state, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `rook-ceph-client-${o.metadata.name}`,
        namespace: where,
        ownerReferences: [
          { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: 'rook' },
        ],
      },
      type: 'kubernetes.io/rook',
      data: { [o.metadata.name]: Buffer.from(randomBytes(16)).toString('base64') },
    });
  }
  // docs/upstream-facts.md#yaook.admin-credentials: the bootstrap makes the user
  // yaook-sys-maint in project admin; the Secret holds no auth URL.
  if (o.kind === 'KeystoneDeployment' && !find(state, 'Secret', where, 'keystone-admin')) {
    const b64 = (s) => Buffer.from(s).toString('base64');
    put(state, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'keystone-admin',
        namespace: where,
        labels: { 'state.yaook.cloud/component': 'admin_credentials' },
        ownerReferences: [
          { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: 'yaook' },
        ],
      },
      type: 'Opaque',
      data: {
        OS_AUTH_TYPE: b64('password'),
        OS_USERNAME: b64('yaook-sys-maint'),
        // A password as random as Yaook's may hold any character a YAML file must quote.
        OS_PASSWORD: b64(`${randomBytes(12).toString('base64')}'"\\: #`),
        OS_PROJECT_NAME: b64('admin'),
        OS_USER_DOMAIN_NAME: b64('Default'),
        OS_PROJECT_DOMAIN_NAME: b64('Default'),
      },
    });
  }
}

/** An object as kubectl shows it: what was applied, and the status its controller reports. */
export function view(state, o) {
  const status = statusOf(state, o);
  return { ...o, ...(status ? { status } : {}) };
}

const ready = (ok, reason) => ({
  conditions: [{ type: 'Ready', status: ok ? 'True' : 'False', reason }],
});

function statusOf(state, o) {
  if (groupOf(o.apiVersion) === 'yaook.cloud')
    return {
      phase: helmDeployed(state, 'yaook', OPERATOR_OF[o.kind])
        ? 'Updated'
        : 'WaitingForDependencies',
    };
  if (o.kind === 'Service' && o.spec?.type === 'LoadBalancer')
    return {
      loadBalancer: { ingress: [{ ip: o.metadata.annotations['kube-vip.io/loadbalancerIPs'] }] },
    };
  if (o.kind === 'Deployment')
    return {
      replicas: o.spec.replicas ?? 1,
      readyReplicas: o.spec.replicas ?? 1,
      updatedReplicas: o.spec.replicas ?? 1,
    };
  if (o.kind === 'Cluster') {
    const why = clusterNotReady(state, o);
    return { phase: why ? 'Provisioning' : 'Provisioned', ...ready(!why, why ?? 'Ready') };
  }
  if (o.kind === 'Kustomization') {
    const flux = readState('flux.json', {});
    return ready(
      Boolean(flux.revision) && !o.spec.suspend,
      flux.error ?? 'ReconciliationSucceeded',
    );
  }
  if (o.kind === 'GitRepository')
    return ready(existsSync(repoOf(o.spec.url) ?? '/nonexistent'), 'Artifact');
  return undefined;
}

/** The CRD CAPO v0.12 watches, which ORC installs (docs/upstream-facts.md#capo.orc). */
export const ORC_CRD = 'images.openstack.k-orc.cloud';

/**
 * Why CAPO's controller does not run, or undefined when it does. CAPO v0.12 watches ORC's
 * Image objects; without their CRD controller-runtime cannot start its watch and the pod
 * crash-loops (docs/upstream-facts.md#capo.orc).
 */
export function capoNotRunning(state) {
  const providers = (readState('clusterctl.json', null)?.providers ?? []).map((p) => p.name);
  if (!providers.includes('openstack')) return 'no OpenStack provider (CAPO) is installed';
  if (!crds(state).has(ORC_CRD))
    return `capo-controller-manager is in CrashLoopBackOff: no matches for kind "Image" in version "openstack.k-orc.cloud/v1alpha1" (ORC is not installed)`;
  return undefined;
}

/**
 * Why KubeadmControlPlane has not written the `<cluster>-kubeconfig` Secret yet: it does
 * once the infrastructure is ready and the endpoint known, long before the cluster is Ready
 * (docs/upstream-facts.md#capi.kcp-kubeconfig).
 */
export function kubeconfigMissing(state, c) {
  const ns = c.metadata.namespace;
  const capo = capoNotRunning(state);
  if (capo) return capo;
  const infra = find(state, 'OpenStackCluster', ns, c.spec.infrastructureRef.name);
  if (!infra) return 'its OpenStackCluster does not exist';
  if (!find(state, 'KubeadmControlPlane', ns, c.spec.controlPlaneRef.name))
    return 'its KubeadmControlPlane does not exist';
  return credentialsRefused(state, infra);
}

/** Why Cluster API would not report the cluster Ready, or undefined when it would. */
function clusterNotReady(state, c) {
  const ns = c.metadata.namespace;
  const endpoint = kubeconfigMissing(state, c);
  if (endpoint) return endpoint;
  const kcp = find(state, 'KubeadmControlPlane', ns, c.spec.controlPlaneRef.name);
  const template = kcp.spec.machineTemplate.infrastructureRef.name;
  if (!find(state, 'OpenStackMachineTemplate', ns, template)) return `${template} does not exist`;
  const infra = find(state, 'OpenStackCluster', ns, c.spec.infrastructureRef.name);
  const ca = secretData(state, 'yaook', 'root-ca', 'tls.crt');
  const credentials = readState('openstack.json', { credentials: {} }).credentials ?? {};
  return (
    infrastructureProblem(state, infra) ??
    openstackObjectsMissing(state, c, kcp) ??
    nodesProblem(state, c, kcp, ca, credentials) ??
    faultProblem(infra, kcp)
  );
}

/** Why CAPO's calls to uStack with the cluster's credential Secret fail, or undefined. */
function credentialsRefused(state, infra) {
  const ns = infra.metadata.namespace;
  const clouds = secretData(state, ns, infra.spec.identityRef.name, 'clouds.yaml');
  if (!clouds) return `the cloud credential Secret ${infra.spec.identityRef.name} does not exist`;
  // docs/upstream-facts.md#capo.credentials-secret: CAPO trusts the Secret's cacert only (not
  // a cacert path inside clouds.yaml); uStack's certificates come from the site's root CA.
  const cacert = secretData(state, ns, infra.spec.identityRef.name, 'cacert');
  const ca = secretData(state, 'yaook', 'root-ca', 'tls.crt');
  if (!cacert || pemBody(cacert) !== pemBody(ca))
    return `the cloud credential Secret ${infra.spec.identityRef.name} has no cacert with the site's root CA: x509: certificate signed by unknown authority`;
  const cloud = parseAllDocuments(clouds)[0]?.toJS()?.clouds?.[infra.spec.identityRef.cloudName];
  const credentials = readState('openstack.json', { credentials: {} }).credentials ?? {};
  const id = cloud?.auth?.application_credential_id;
  if (!id || credentials[id]?.secret !== cloud.auth.application_credential_secret)
    return 'uStack does not know the application credential in the cloud Secret';
  return undefined;
}

/** Why CAPO could not give the control plane an endpoint Cluster API can reach. */
function infrastructureProblem(state, infra) {
  // docs/upstream-facts.md#capo.security-groups, #neutron.default-sg: without
  // managedSecurityGroups CAPO makes no groups, the VMs get Neutron's default group, which
  // admits only its own members: nothing outside reaches the API on 6443.
  if (!infra.spec.managedSecurityGroups)
    return 'OpenStackCluster has no managedSecurityGroups: CAPO creates no security groups, the VMs get the project default group (ingress only from its own members), and Cluster API cannot reach the API server on 6443';
  // CAPO reconciles the external network first, then the cluster's own network
  // (docs/upstream-facts.md#capo.external-network-lookup, #capo.pre-existing-network).
  const os = readState('openstack.json', {});
  const ext = infra.spec.externalNetwork;
  if (ext) {
    const nets = Object.entries(os.network ?? {}).filter(
      ([name, n]) => n.external && (ext.id ? n.id === ext.id : name === ext.filter?.name),
    );
    const copies = nets.reduce((sum, [, n]) => sum + (n.copies ?? 1), 0);
    if (copies !== 1)
      return `failed to get external network: filter matched ${copies === 0 ? 'no resources' : 'more than one resource'}`;
  }
  const network = clusterNetworkProblem(os, infra);
  if (network) return network;
  // docs/upstream-facts.md#capo.api-lb: an enabled load balancer is made in Octavia.
  const endpoint = endpointSource(infra);
  if (endpoint.problem) return endpoint.problem;
  if (
    endpoint.source === 'lb' &&
    !Object.values(state.objects).some((o) => o.kind === 'OctaviaDeployment')
  )
    return 'apiServerLoadBalancer is enabled but uStack has no Octavia (load-balancer service): CAPO cannot create the API server load balancer';
  if (endpoint.source === 'given') {
    const ns = infra.metadata.namespace;
    const cluster = Object.values(state.objects).find(
      (o) =>
        o.kind === 'Cluster' &&
        o.metadata.namespace === ns &&
        o.spec.infrastructureRef?.name === infra.metadata.name,
    );
    const kcp =
      cluster && find(state, 'KubeadmControlPlane', ns, cluster.spec.controlPlaneRef.name);
    const template =
      kcp &&
      find(state, 'OpenStackMachineTemplate', ns, kcp.spec.machineTemplate.infrastructureRef.name);
    if (kcp) {
      const why = givenEndpointProblem(os, endpoint.host, kcp, template);
      if (why) return why;
    }
  }
  return undefined;
}

/**
 * Why the cluster's API no longer answers after the faults a test injected
 * (faults.json `{ "firstControlPlaneFailed": true }`: the first control-plane VM is down).
 */
function faultProblem(infra, kcp) {
  const faults = readState('faults.json', {});
  if (faults.firstControlPlaneFailed) return endpointLostWithFirstMachine(infra, kcp);
  return undefined;
}

/** Labels a selector (matchLabels only, as uStart renders) selects. */
const selects = (sel, labels) =>
  Object.keys(sel?.matchLabels ?? {}).length > 0 &&
  Object.entries(sel.matchLabels).every(([k, v]) => labels?.[k] === v);

/**
 * The manifests the ClusterResourceSets selecting `c` apply to the workload cluster
 * (docs/upstream-facts.md#capi.crs, #capi.crs-missing): a resource that does not exist is
 * skipped (CAPI retries when it appears), a Secret of another type is refused.
 */
function resourceSetManifests(state, c) {
  const ns = c.metadata.namespace;
  const out = [];
  for (const crs of Object.values(state.objects)) {
    if (crs.kind !== 'ClusterResourceSet' || crs.metadata.namespace !== ns) continue;
    if (!selects(crs.spec.clusterSelector, c.metadata.labels)) continue;
    for (const r of crs.spec.resources) {
      const o = find(state, r.kind, ns, r.name);
      if (!o) continue;
      if (r.kind === 'Secret' && o.type !== 'addons.cluster.x-k8s.io/resource-set') continue;
      for (const [key, value] of Object.entries(o.data ?? {})) {
        const text = r.kind === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value;
        try {
          out.push(...parseManifests(text, `${r.kind} ${r.name} key ${key}`));
        } catch {
          // CAPI reports the set's ResourcesApplied False and applies nothing of it.
        }
      }
    }
  }
  return out;
}

const containersOf = (o) => [
  ...(o.spec?.template?.spec?.containers ?? []),
  ...(o.spec?.template?.spec?.initContainers ?? []),
];
const runs = (manifests, pattern) =>
  manifests.some(
    (o) =>
      ['DaemonSet', 'Deployment'].includes(o.kind) &&
      containersOf(o).some((k) => pattern.test(k.image ?? '')),
  );

/** Why the CCM's cloud-config (kube-system/cloud-config, cloud.conf) would not log in. */
function cloudConfigProblem(manifests, ca, credentials) {
  const secret = manifests.find(
    (o) =>
      o.kind === 'Secret' &&
      o.metadata.name === 'cloud-config' &&
      o.metadata.namespace === 'kube-system',
  );
  if (!secret)
    return 'the CCM has no Secret kube-system/cloud-config to mount: its pod never starts';
  const data = (k) =>
    secret.data?.[k] !== undefined
      ? Buffer.from(secret.data[k], 'base64').toString('utf8')
      : secret.stringData?.[k];
  const conf = data('cloud.conf') ?? '';
  const global = Object.fromEntries(
    [
      ...(conf.split(/^\[Global\]\s*$/m)[1] ?? '')
        .split(/^\[/m)[0]
        .matchAll(/^([\w-]+)\s*=\s*(.*)$/gm),
    ].map((m) => [m[1], m[2].trim().replace(/^"|"$/g, '')]),
  );
  // docs/upstream-facts.md#ccm.openstack: auth-url is required; ca-file is required for https.
  if (!global['auth-url']) return 'cloud.conf has no [Global] auth-url';
  const id = global['application-credential-id'];
  if (!id || credentials[id]?.secret !== global['application-credential-secret'])
    return 'cloud.conf holds no application credential uStack knows: the CCM cannot log in';
  const file = global['ca-file'];
  const key = file?.startsWith('/etc/config/') ? file.slice('/etc/config/'.length) : undefined;
  if (global['auth-url'].startsWith('https:') && (!key || pemBody(data(key)) !== pemBody(ca)))
    return "cloud.conf names no ca-file in the Secret with the site's root CA: x509: certificate signed by unknown authority";
  return undefined;
}

/**
 * Why the workload cluster's Nodes would not let Cluster API finish the control plane
 * (docs/upstream-facts.md#capi.kcp-noderef, #capi.cni-ready, #capo.templates-addons,
 * #ccm.openstack): a Machine gets its nodeRef only from a Node whose providerID matches
 * (the kubelet's provider-id, or the CCM's); a Node without a CNI stays NotReady; with
 * cloud-provider external and no working CCM the Nodes keep the uninitialized taint.
 */
function nodesProblem(state, c, kcp, ca, credentials) {
  const ns = c.metadata.namespace;
  const registrations = [
    ['KubeadmControlPlane init', kcp.spec.kubeadmConfigSpec?.initConfiguration?.nodeRegistration],
    ['KubeadmControlPlane join', kcp.spec.kubeadmConfigSpec?.joinConfiguration?.nodeRegistration],
  ];
  for (const md of Object.values(state.objects)) {
    if (md.kind !== 'MachineDeployment' || md.metadata.namespace !== ns) continue;
    if (md.spec.clusterName !== c.metadata.name) continue;
    const ref = md.spec.template.spec.bootstrap.configRef.name;
    const t = find(state, 'KubeadmConfigTemplate', ns, ref);
    if (!t)
      return `MachineDeployment ${md.metadata.name}: its KubeadmConfigTemplate ${ref} does not exist`;
    registrations.push([
      `KubeadmConfigTemplate ${ref}`,
      t.spec.template.spec.joinConfiguration?.nodeRegistration,
    ]);
  }
  const manifests = resourceSetManifests(state, c);
  const ccm = runs(manifests, /\/openstack-cloud-controller-manager:/);
  const ccmProblem = ccm
    ? cloudConfigProblem(manifests, ca, credentials)
    : 'no OpenStack cloud controller manager is applied to the cluster';
  for (const [where, reg] of registrations) {
    const args = reg?.kubeletExtraArgs ?? {};
    const external = args['cloud-provider'] === 'external';
    const providerId = /^openstack:\/\/\/'?\{\{ *instance_id *\}\}'?$/.test(
      args['provider-id'] ?? '',
    );
    if (!providerId && (!external || ccmProblem))
      return `${where}: the Node gets no providerID (no kubelet provider-id${external ? `, and ${ccmProblem}` : ' and no cloud-provider external'}), so the Machine never gets a nodeRef: Machine does not have a corresponding Node yet (Machine.status.nodeRef not set)`;
    if (external && ccmProblem)
      return `${where}: kubelet cloud-provider is external but ${ccmProblem}: the Nodes keep the taint node.cloudprovider.kubernetes.io/uninitialized`;
  }
  if (!runs(manifests, /\/(calico\/node|cilium):/))
    return 'no CNI is applied to the cluster (no ClusterResourceSet with one selects it): the Nodes stay NotReady (container runtime network not ready: NetworkReady=false)';
  return undefined;
}

/**
 * What CAPO v0.12 looks up in OpenStack for a cluster's machines, and cannot find in
 * openstack.json: each OpenStackMachineTemplate's flavor, image and keypair
 * (docs/upstream-facts.md#capo.machine-lookups). CAPO reports these as errors on the
 * OpenStackCluster or OpenStackMachine, and no server is created.
 */
function openstackObjectsMissing(state, c, kcp) {
  const ns = c.metadata.namespace;
  const os = readState('openstack.json', {});
  const table = (k) => Object.entries(os[k] ?? {});
  const templates = [
    kcp.spec.machineTemplate.infrastructureRef.name,
    ...Object.values(state.objects)
      .filter(
        (o) =>
          o.kind === 'MachineDeployment' &&
          o.metadata.namespace === ns &&
          o.spec?.clusterName === c.metadata.name,
      )
      .map((md) => md.spec.template.spec.infrastructureRef.name),
  ];
  for (const name of templates) {
    const spec = find(state, 'OpenStackMachineTemplate', ns, name)?.spec?.template?.spec;
    if (!spec) return `${name} does not exist`;
    if (spec.flavorID === undefined && spec.flavor === undefined)
      return `${name}: at least one of flavor or flavorID must be set`;
    const flavor = spec.flavorID
      ? table('flavor').some(([, f]) => f.id === spec.flavorID)
      : table('flavor').some(([n]) => n === spec.flavor);
    if (!flavor)
      return spec.flavorID
        ? `${name}: Nova has no flavor ${spec.flavorID}`
        : `${name}: no flavors were found: name=${spec.flavor}`;
    const image = spec.image ?? {};
    if (image.imageRef)
      return `${name}: image.imageRef (an ORC Image) is not modelled by this double`;
    if (image.id !== undefined) {
      if (!table('image').some(([, i]) => i.id === image.id))
        return `${name}: Glance has no image ${image.id}`;
    } else {
      const hits = table('image').filter(([n]) => n === image.filter?.name).length;
      if (hits !== 1)
        return `${name}: ${hits === 0 ? 'no images were found' : 'too many images were found'} with the given image filter: name=${image.filter?.name}, tags=${JSON.stringify(image.filter?.tags ?? [])}`;
    }
    if (spec.sshKeyName !== undefined && !os.keypair?.[spec.sshKeyName])
      return `${name}: Nova refuses the server: Invalid key_name provided (no keypair ${spec.sshKeyName})`;
  }
  return undefined;
}

/**
 * Flux: the Kustomization applies what its GitRepository's branch holds under its path, into
 * its target namespace, and prunes what left the repository. Objects whose CRD is missing
 * wait (Flux retries), as do all of them while the repository cannot be read.
 */
function fluxSync(state) {
  const ks = Object.values(state.objects).find((o) => o.kind === 'Kustomization');
  const controllers = ['source-controller', 'kustomize-controller'].every((d) =>
    find(state, 'Deployment', 'flux-system', d),
  );
  if (!ks || !controllers || ks.spec.suspend) return;
  const source = find(state, 'GitRepository', ks.metadata.namespace, ks.spec.sourceRef.name);
  const repo = repoOf(source?.spec.url);
  const flux = { revision: undefined, error: undefined };
  const auth =
    source && find(state, 'Secret', source.metadata.namespace, source.spec.secretRef?.name);
  const user = secretData(state, GITEA_NAMESPACE, 'gitea-admin', 'username');
  const password = secretData(state, GITEA_NAMESPACE, 'gitea-admin', 'password');
  if (!repo || !existsSync(repo)) flux.error = 'the repository does not exist';
  else if (
    !auth ||
    secretData(state, auth.metadata.namespace, auth.metadata.name, 'username') !== user ||
    secretData(state, auth.metadata.namespace, auth.metadata.name, 'password') !== password
  )
    flux.error = 'authentication to the repository failed';
  if (flux.error) return writeState('flux.json', flux);
  const git = (...args) => execFileSync('git', ['--git-dir', repo, ...args], { encoding: 'utf8' });
  const branch = source.spec.ref?.branch ?? 'main';
  const path = ks.spec.path.replace(/^\.\//, '').replace(/\/$/, '');
  let files;
  try {
    flux.revision = git('rev-parse', branch).trim();
    files = git('ls-tree', '-r', '--name-only', branch, '--', path)
      .split('\n')
      .filter((f) => /\.ya?ml$/.test(f));
  } catch {
    return writeState('flux.json', { error: `branch ${branch} does not exist` });
  }
  const target = ks.spec.targetNamespace;
  const wanted = new Set();
  for (const file of files) {
    for (const o of parseManifests(git('show', `${branch}:${file}`), file)) {
      o.metadata = {
        ...o.metadata,
        namespace: target ?? o.metadata.namespace,
        labels: { ...o.metadata.labels, [FLUX_LABEL]: ks.metadata.name },
      };
      try {
        validate(state, o, target);
      } catch (e) {
        flux.error = e.message;
        continue;
      }
      wanted.add(keyOf(o));
      put(state, o);
    }
  }
  for (const [k, o] of Object.entries(state.objects))
    if (o.metadata.labels?.[FLUX_LABEL] === ks.metadata.name && !wanted.has(k) && !flux.error)
      remove(state, k);
  writeState('flux.json', flux);
}

/**
 * What a chart needs before it can come up (helm upgrade --install --wait would time out
 * without it), and what its values must name. Returns what the test should see.
 */
export function checkRelease(state, release, ns, chart, values, version) {
  const seen = {};
  if (release.startsWith('yaook-') && release !== 'yaook-crds')
    if (!helmDeployed(state, 'yaook', 'yaook-crds'))
      refuse(
        `${release}: the Yaook CRDs (release yaook-crds) are not installed; the operator would crash`,
      );
  if (chart === 'cert-manager' && values?.crds?.enabled !== true)
    refuse('cert-manager without crds.enabled=true installs no CRDs; nothing could use it');
  if (chart === 'gitea') {
    const secret = values?.gitea?.admin?.existingSecret;
    if (!secretData(state, ns, secret, 'username') || !secretData(state, ns, secret, 'password'))
      refuse(`gitea.admin.existingSecret ${secret} must exist in ${ns} with username and password`);
    const sc = values?.persistence?.storageClass;
    if (sc && !find(state, 'StorageClass', undefined, sc))
      refuse(`StorageClass ${sc} does not exist`);
    giteaSubchartsProblem(state, version, values);
    seen.imageRegistry = values?.global?.imageRegistry ?? null;
  }
  return seen;
}

/**
 * The Gitea chart's bundled sub-charts (docs/upstream-facts.md#gitea.chart-12-defaults): from
 * chart 12.0.0 the cache is valkey-cluster (earlier redis-cluster), on by default, and so is
 * postgresql-ha. Each is a bitnami StatefulSet whose pods claim volumes (persistence on by
 * default, no storage class = the cluster's default one; docs/upstream-facts.md#bitnami.valkey-cluster-persistence)
 * and pull bitnami images the bundle does not carry. Without a default StorageClass the claims
 * stay Pending and `helm --wait` times out, so the double refuses at once. Enabling both
 * valkey and valkey-cluster fails the chart's own template.
 */
function giteaSubchartsProblem(state, version, values) {
  const major = Number(String(version ?? '0').split('.')[0]);
  const cache = major >= 12 ? ['valkey-cluster', 'valkey'] : ['redis-cluster', 'redis'];
  const on = (key, byDefault) => values?.[key]?.enabled ?? byDefault;
  if (on(cache[0], true) && on(cache[1], false))
    refuse(
      `Error: execution error at (gitea/templates/gitea/config.yaml): ${cache[1]} and ${cache[0]} cannot be enabled at the same time. Please only choose one.`,
    );
  const defaultClass = Object.values(state.objects).some(
    (o) =>
      o.kind === 'StorageClass' &&
      o.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
  );
  for (const [key, byDefault] of [
    [cache[0], true],
    [cache[1], false],
    ['postgresql-ha', true],
    ['postgresql', false],
  ]) {
    if (!on(key, byDefault)) continue;
    const persistence = values?.[key]?.persistence ?? values?.[key]?.primary?.persistence ?? {};
    if (persistence.enabled === false) continue;
    const sc = persistence.storageClass ?? values?.global?.storageClass;
    if (sc ? !find(state, 'StorageClass', undefined, sc) : !defaultClass)
      refuse(
        `Error: UPGRADE FAILED: gitea chart ${version}: the sub-chart ${key} is enabled${values?.[key]?.enabled === undefined ? ' (its default in this chart version)' : ''}; its pods claim volumes ${sc ? `of StorageClass ${sc}, which does not exist` : 'of the default StorageClass, and the cluster has none'}, so they stay Pending: set ${key}.enabled: false`,
      );
  }
}

/**
 * A chart archive's name and version from its Chart.yaml; refuses an archive that is not a
 * chart. Archives that are not gzip at all (placeholders of older tests) are named by file.
 */
export function chartOf(path) {
  const bytes = readFileSync(path);
  const byName = basename(path).replace(/-v?[0-9][^-]*\.tgz$/, '');
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return { name: byName };
  let text;
  try {
    text = execFileSync('tar', ['-xzOf', path, '--wildcards', '*/Chart.yaml'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    refuse(`${path} holds no Chart.yaml: not a Helm chart`);
  }
  const chart = parseAllDocuments(text)[0]?.toJS();
  if (chart?.apiVersion !== 'v2' || !chart.name || !chart.version)
    refuse(`${path}: Chart.yaml needs apiVersion v2, name and version`);
  if (chart.name !== byName) refuse(`${path} holds the chart ${chart.name}, not ${byName}`);
  // The runbook names the file of the version the bill of materials pins
  // (charts/<name>-<version>.tgz); an archive of another version under that name is refused.
  const byVersion = /^.*?-(v?[0-9][^-]*)\.tgz$/.exec(basename(path).slice(byName.length))?.[1];
  if (byVersion && byVersion.replace(/^v/, '') !== String(chart.version).replace(/^v/, ''))
    refuse(`${path} holds ${chart.name} ${chart.version}, not the ${byVersion} its name says`);
  return { name: chart.name, version: chart.version };
}

/** `helm uninstall`: the release's objects outside its namespace go with it. */
export function uninstalled(state, ns, release) {
  for (const [k, o] of Object.entries(state.objects)) {
    const a = o.metadata.annotations ?? {};
    if (a['meta.helm.sh/release-name'] === release && a['meta.helm.sh/release-namespace'] === ns)
      remove(state, k);
  }
}
