/**
 * kubectl test double: a small in-file model of a cluster (objects applied, labels, taints,
 * secrets, Helm-made releases) good enough for the uMetal steps, refusing anything it does
 * not understand and anything that needs a cluster before `kubeadm init` made one.
 */
import { existsSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import { jsonpath, kubectlCluster } from './kubectl-cluster.mjs';
import { at, parseFlags, readInput, readState, refuse, runDouble, writeState } from './lib.mjs';

const LABEL =
  /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?=([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const TAINT = /^[^=:\s]+(=[^:\s]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/;
const KNOWN = [
  'n',
  'namespace',
  'kubeconfig',
  'o',
  'output',
  'f',
  'filename',
  'overwrite!',
  'raw',
  'dry-run',
  'show-labels!',
  'no-headers!',
  'local!',
  'l',
  'selector',
  'timeout',
  'from-env-file',
  'from-file',
  'ignore-not-found!',
  'wait!',
  'type',
  'p',
  'cert',
  'key',
];

function cluster() {
  if (!existsSync(at('/etc/kubernetes/admin.conf')))
    refuse('The connection to the server was refused (no admin.conf: kubeadm init has not run)');
}

function nodes() {
  const planned = readState('nodes.json', undefined);
  return planned;
}

/**
 * A node of the cluster: registered by kubeadm (nodes-meta.json), or, where a test seeds the
 * cluster as uMetal leaves it, planned (nodes.json). With neither, any name (older tests).
 */
function isNode(name) {
  const registered = readState('nodes-meta.json', {});
  const planned = nodes();
  if (Object.keys(registered).length) return Object.hasOwn(registered, name);
  return planned === undefined || planned.includes(name);
}

function objectsOf(text, where) {
  const docs = parseAllDocuments(text);
  for (const d of docs)
    if (d.errors.length) refuse(`${where} is not valid YAML: ${d.errors[0].message}`);
  const objects = docs.map((d) => d.toJS()).filter(Boolean);
  for (const o of objects) {
    if (!o.apiVersion || !o.kind || !o.metadata?.name)
      refuse(`${where}: every object needs apiVersion, kind and metadata.name`);
  }
  return objects;
}

/**
 * The CephCluster's status as Rook reports it (docs/upstream-facts.md#rook.status):
 * `ceph.health` and `ceph.details` (check name → message, severity). HEALTH_OK unless a test
 * seeds `ceph-health.json` (what a freshly made cluster reports, docs/upstream-facts.md#ceph.fresh-warnings).
 */
function cephStatus() {
  const seeded = readState('ceph-health.json', undefined);
  return { phase: 'Ready', ceph: seeded ?? { health: 'HEALTH_OK', details: {} } };
}

const keyOf = (o, ns) => `${o.kind}/${o.metadata.namespace ?? ns ?? 'default'}/${o.metadata.name}`;

runDouble('kubectl', (argv) => {
  // uStack, uGarden and the resets: the cluster model of kubectl-cluster.mjs.
  const handled = kubectlCluster(argv);
  if (handled) return handled.seen;
  const { flags, rest } = parseFlags(argv, KNOWN);
  const ns = flags.get('n') ?? flags.get('namespace');
  const [verb, kind, name, ...more] = rest;
  const local = flags.get('dry-run') === 'client' || flags.get('local');
  if (!local) cluster();
  const objects = readState('objects.json', {});
  if (verb === 'get' && flags.get('raw')) {
    process.stdout.write('ok\n');
    return undefined;
  }
  if (verb === 'create' && local) {
    const obj = {
      apiVersion: 'v1',
      kind: kind === 'namespace' ? 'Namespace' : kind === 'configmap' ? 'ConfigMap' : 'Secret',
      metadata: { name: kind === 'namespace' ? name : (more[0] ?? name) },
    };
    process.stdout.write(stringify(obj));
    return undefined;
  }
  if (verb === 'label' && flags.get('local')) {
    process.stdout.write(readInput(flags.get('f')));
    return undefined;
  }
  if (verb === 'label' || verb === 'taint') {
    if (kind !== 'node') refuse(`${verb} is only modelled for nodes`);
    if (!isNode(name)) refuse(`nodes "${name}" not found`);
    const pairs = [...more];
    const re = verb === 'label' ? LABEL : TAINT;
    for (const p of pairs) if (!re.test(p)) refuse(`invalid ${verb} "${p}"`);
    const state = readState('nodes-meta.json', {});
    const node = state[name] ?? { labels: {}, taints: [] };
    for (const p of pairs) {
      if (verb === 'label') node.labels[p.split('=')[0]] = p.split('=')[1];
      else
        node.taints = [...node.taints.filter((t) => t.split(/[=:]/)[0] !== p.split(/[=:]/)[0]), p];
    }
    state[name] = node;
    writeState('nodes-meta.json', state);
    return { node: name, [verb === 'label' ? 'labels' : 'taints']: pairs };
  }
  if (verb === 'get' && kind === 'node') {
    if (!isNode(name)) refuse(`nodes "${name}" not found`);
    const meta = readState('nodes-meta.json', {})[name] ?? { labels: {}, taints: [] };
    const out = String(flags.get('o') ?? '');
    if (out.includes('Ready')) process.stdout.write('True');
    else if (out.includes('taints'))
      process.stdout.write(meta.taints.map((t) => t.split(/[=:]/)[0]).join(' '));
    else if (flags.get('show-labels')) {
      const labels = Object.entries(meta.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      process.stdout.write(`${name} Ready <none> 1d v1.31.4 ${labels || '<none>'}\n`);
    } else process.stdout.write(`${name} Ready\n`);
    return undefined;
  }
  if (verb === 'get' && kind === 'nodes') {
    for (const n of nodes() ?? []) process.stdout.write(`${n} Ready\n`);
    return undefined;
  }
  if (verb === 'rollout' && kind === 'status') return undefined;
  if (verb === 'apply' || verb === 'diff') {
    const file = flags.get('f') ?? flags.get('filename');
    const applied = objectsOf(readInput(file), file);
    if (verb === 'diff') {
      const same = applied.every(
        (o) => JSON.stringify(objects[keyOf(o, ns)]) === JSON.stringify(o),
      );
      if (!same) refuse('objects differ from the cluster', 1);
      return undefined;
    }
    for (const o of applied) objects[keyOf(o, ns)] = o;
    writeState('objects.json', objects);
    return { applied: applied.map((o) => keyOf(o, ns)) };
  }
  if (verb === 'create' && (kind === 'secret' || kind === 'namespace')) {
    const secretName = kind === 'namespace' ? name : more[0];
    objects[`${kind === 'namespace' ? 'Namespace' : 'Secret'}/${ns ?? 'default'}/${secretName}`] = {
      kind,
      metadata: { name: secretName },
    };
    writeState('objects.json', objects);
    return { created: `${kind}/${secretName}` };
  }
  if (verb === 'get' && kind === 'secret') {
    if (!objects[`Secret/${ns ?? 'default'}/${name}`]) refuse(`secrets "${name}" not found`);
    return undefined;
  }
  if (verb === 'get' && kind === 'cephcluster') {
    const ceph = objects[`CephCluster/${ns}/${name}`];
    if (!ceph) refuse(`cephclusters "${name}" not found`);
    const out = String(flags.get('o') ?? '');
    const status = cephStatus();
    if (out.startsWith('jsonpath='))
      process.stdout.write(jsonpath({ ...ceph, status }, out.slice(9)));
    else process.stdout.write(`${name} ${status.ceph.health}\n`);
    return undefined;
  }
  if (verb === 'get' && kind === 'deploy' && flags.get('l') === 'app=rook-ceph-osd') {
    const ceph = Object.values(objects).find((o) => o.kind === 'CephCluster');
    const devices = ceph ? ceph.spec.storage.nodes.flatMap((n) => n.devices) : [];
    process.stdout.write(devices.map(() => '1\n').join(''));
    return undefined;
  }
  if (verb === 'get' && kind === 'pods') return undefined;
  refuse(`this double does not know "kubectl ${argv.join(' ')}"`, 2);
});
