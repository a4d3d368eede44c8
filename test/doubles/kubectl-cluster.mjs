/**
 * The part of the kubectl double the uStack, uGarden and reset steps use: apply, diff, get
 * (-o json, yaml, name, jsonpath), delete, patch, create secret, rollout status and
 * port-forward, against the shared cluster model (cluster.mjs). kubectl.mjs hands a call here
 * first; `kubectlCluster(argv)` returns `{ seen }` when it handled it, undefined to let
 * kubectl.mjs go on (nodes, labels, taints, Ceph health and client-side dry runs: uMetal's).
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import {
  GITEA_NAMESPACE,
  applied,
  find,
  helmDeployed,
  keyOf,
  load,
  namespaced,
  parseManifests,
  remove,
  resolveKind,
  save,
  validate,
  view,
} from './cluster.mjs';
import { serveGitea } from './gitea.mjs';
import { Refusal, parseFlags, readInput, refuse } from './lib.mjs';

const KNOWN = [
  'n',
  'namespace',
  'kubeconfig',
  'o',
  'output',
  'f',
  'filename',
  'dry-run',
  'ignore-not-found!',
  'wait!',
  'timeout',
  'type',
  'p',
  'patch',
  'cert',
  'key',
  'from-env-file',
  'from-file',
  'l',
  'selector',
  'raw',
  'local!',
  'overwrite!',
  'show-labels!',
  'no-headers!',
];
/** Kinds kubectl.mjs models for uMetal (nodes, Ceph health, pods, OSD deployments). */
const UMETAL_KINDS = new Set(['node', 'nodes', 'cephcluster', 'pods', 'pod']);

export function kubectlCluster(argv) {
  let parsed;
  try {
    parsed = parseFlags(argv, KNOWN);
  } catch (e) {
    if (e instanceof Refusal) return undefined;
    throw e;
  }
  const { flags, rest } = parsed;
  const [verb, kind] = rest;
  if (flags.get('raw') || flags.get('dry-run') || flags.get('local')) return undefined;
  if (['label', 'taint'].includes(verb)) return undefined;
  if (verb === 'get' && (UMETAL_KINDS.has(kind) || flags.get('l') || flags.get('selector')))
    return undefined;
  if (verb === 'create' && !['secret', 'namespace', 'ns'].includes(kind)) return undefined;
  const handler = VERBS[verb];
  if (!handler) return undefined;
  const state = load();
  const ns = flags.get('n') ?? flags.get('namespace');
  const seen = handler(state, { flags, rest: rest.slice(1), ns, argv });
  if (seen === NOT_MINE) return undefined;
  save(state);
  return { seen };
}

const NOT_MINE = Symbol('not mine');

function manifestsOf(flags) {
  const file = flags.get('f') ?? flags.get('filename');
  if (!file) refuse('error: must specify -f');
  return parseManifests(readInput(file), file);
}

/** The objects a command names: `-f FILE`, `KIND NAME...`, `KIND/NAME...` or `KIND` (all). */
function targets(state, { flags, rest, ns }) {
  if (flags.get('f') || flags.get('filename'))
    return manifestsOf(flags).map((o) => ({
      key: keyOf(o, ns),
      name: `${o.kind}/${o.metadata.name}`,
    }));
  const out = [];
  const [first, ...names] = rest;
  if (!first) refuse('error: you must specify the type of resource');
  const add = (kindName, name) => {
    const k = resolveKind(state, kindName);
    const key = `${k.kind}/${k.namespaced ? (ns ?? 'default') : 'default'}/${name}`;
    out.push({ key, name: `${kindName}/${name}` });
  };
  if (first.includes('/'))
    for (const r of rest) add(r.slice(0, r.indexOf('/')), r.slice(r.indexOf('/') + 1));
  else if (names.length) for (const n of names) add(first, n);
  else {
    const k = resolveKind(state, first);
    for (const [key, o] of Object.entries(state.objects))
      if (o.kind === k.kind && (!k.namespaced || key.split('/')[1] === (ns ?? 'default')))
        out.push({ key, name: `${first}/${o.metadata.name}` });
  }
  return out;
}

const groupOf = (apiVersion) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

/** An object as the API server returns it, metadata in ObjectMeta's field order (as kubectl prints it). */
function withMeta(o, key) {
  const { name, namespace: _ns, ...rest } = o.metadata;
  const { labels, annotations, ownerReferences, ...others } = rest;
  return {
    ...o,
    metadata: {
      name,
      ...(namespaced(o.kind) ? { namespace: key.split('/')[1] } : {}),
      uid: `uid-${key.replace(/[^a-z0-9]/gi, '-').toLowerCase()}`,
      resourceVersion: '1',
      creationTimestamp: '2026-01-01T00:00:00Z',
      ...others,
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
      ...(ownerReferences ? { ownerReferences } : {}),
    },
  };
}

function print(objects, output, state) {
  const views = objects.map(({ key }) => withMeta(view(state, state.objects[key]), key));
  const one = views.length === 1 ? views[0] : { apiVersion: 'v1', kind: 'List', items: views };
  if (!output) {
    for (const v of views) process.stdout.write(`${v.metadata.name}\n`);
  } else if (output === 'json') process.stdout.write(JSON.stringify(one, null, 4) + '\n');
  else if (output === 'yaml') process.stdout.write(stringify(one));
  else if (output === 'name')
    for (const v of views) {
      const g = groupOf(v.apiVersion);
      process.stdout.write(`${v.kind.toLowerCase()}${g ? `.${g}` : ''}/${v.metadata.name}\n`);
    }
  else if (output.startsWith('jsonpath=')) process.stdout.write(jsonpath(one, output.slice(9)));
  else refuse(`error: this double does not know -o ${output}`, 2);
}

const VERBS = {
  apply(state, { flags, ns }) {
    const objects = manifestsOf(flags);
    for (const o of objects) {
      validate(state, o, ns);
      state.objects[keyOf(o, ns)] = o;
      applied(state, o, ns);
    }
    for (const o of objects)
      process.stdout.write(`${o.kind.toLowerCase()}/${o.metadata.name} configured\n`);
    return { applied: objects.map((o) => keyOf(o, ns)) };
  },
  diff(state, { flags, ns }) {
    const differ = manifestsOf(flags).filter(
      (o) => JSON.stringify(state.objects[keyOf(o, ns)]) !== JSON.stringify(o),
    );
    if (differ.length)
      refuse(`objects differ from the cluster: ${differ.map((o) => keyOf(o, ns)).join(', ')}`, 1);
    return undefined;
  },
  get(state, ctx) {
    const found = targets(state, ctx);
    const missing = found.filter((t) => !state.objects[t.key]);
    if (missing.length && !ctx.flags.get('ignore-not-found'))
      refuse(`Error from server (NotFound): ${missing.map((m) => m.name).join(', ')} not found`);
    const present = found.filter((t) => state.objects[t.key]);
    print(present, ctx.flags.get('o') ?? ctx.flags.get('output'), state);
    return undefined;
  },
  delete(state, ctx) {
    const found = targets(state, ctx);
    for (const t of found) {
      if (!state.objects[t.key]) {
        if (ctx.flags.get('ignore-not-found')) continue;
        refuse(`Error from server (NotFound): ${t.name} not found`);
      }
      remove(state, t.key);
      process.stdout.write(`${t.name} deleted\n`);
    }
    return { deleted: found.map((t) => t.key) };
  },
  patch(state, ctx) {
    const [t] = targets(state, ctx);
    if (ctx.flags.get('type') !== 'merge') refuse('this double patches with --type merge only', 2);
    const o = state.objects[t.key];
    if (!o) refuse(`Error from server (NotFound): ${t.name} not found`);
    const merge = (a, b) => {
      for (const [k, v] of Object.entries(b))
        a[k] = v && typeof v === 'object' && !Array.isArray(v) ? merge(a[k] ?? {}, v) : v;
      return a;
    };
    merge(o, JSON.parse(ctx.flags.get('p') ?? ctx.flags.get('patch')));
    return { patched: t.key };
  },
  create(state, { flags, rest, ns, argv }) {
    const [kind, sub, name] = rest;
    if (kind === 'namespace' || kind === 'ns') {
      if (find(state, 'Namespace', undefined, sub))
        refuse(`Error from server (AlreadyExists): namespaces "${sub}" already exists`);
      state.objects[`Namespace/default/${sub}`] = {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: sub },
      };
      return { created: `namespace/${sub}` };
    }
    const where = ns ?? 'default';
    if (find(state, 'Secret', where, name))
      refuse(`Error from server (AlreadyExists): secrets "${name}" already exists`);
    const data = {};
    const b64 = (file) => readFileSync(file).toString('base64');
    if (sub === 'tls') {
      data['tls.crt'] = b64(flags.get('cert'));
      data['tls.key'] = b64(flags.get('key'));
    } else if (sub === 'generic') {
      const env = flags.get('from-env-file');
      if (env)
        for (const line of readFileSync(env, 'utf8').split('\n').filter(Boolean)) {
          const [k, ...v] = line.split('=');
          data[k] = Buffer.from(v.join('=')).toString('base64');
        }
      // --from-file may be given more than once, one key each (kubectl create secret generic).
      const from = argv.flatMap((a, i) =>
        a === '--from-file' ? [argv[i + 1]] : a.startsWith('--from-file=') ? [a.slice(12)] : [],
      );
      for (const f of from) {
        const [k, file] = f.includes('=') ? f.split(/=(.*)/s) : [f.split('/').at(-1), f];
        data[k] = b64(file);
      }
      if (!env && from.length === 0)
        refuse(
          'this double creates secrets from files only (never from literals on the command line)',
          2,
        );
    } else refuse(`this double does not know secret type ${sub}`, 2);
    const o = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: where },
      type: sub === 'tls' ? 'kubernetes.io/tls' : 'Opaque',
      data,
    };
    validate(state, o, where);
    state.objects[keyOf(o, where)] = o;
    return { created: `secret/${where}/${name}`, keys: Object.keys(data) };
  },
  rollout(state, { rest, ns }) {
    const [sub, ref] = rest;
    const [kind, name] = ref.split('/');
    if (sub !== 'status') return NOT_MINE;
    const k = resolveKind(state, kind);
    if (!find(state, k.kind, ns, name)) {
      // uMetal's workloads come from Helm charts this model does not expand; kubectl.mjs answers for them.
      if (ns === 'flux-system') refuse(`Error from server (NotFound): ${ref} not found`);
      return NOT_MINE;
    }
    process.stdout.write(`${ref} successfully rolled out\n`);
    return undefined;
  },
  'port-forward'(state, { rest, ns }) {
    const [ref, ports] = rest;
    const [local, remote] = ports.split(':').map(Number);
    if (ref !== 'svc/gitea-http' || ns !== GITEA_NAMESPACE || remote !== 3000)
      refuse(`this double forwards only to svc/gitea-http:3000 in ${GITEA_NAMESPACE}`, 2);
    if (!helmDeployed(state, GITEA_NAMESPACE, 'gitea'))
      refuse(`Error from server (NotFound): services "gitea-http" not found`);
    serveGitea(local);
    process.stdout.write(`Forwarding from 127.0.0.1:${local} -> ${remote}\n`);
    return { forward: `${local}:${remote}` };
  },
};

/** kubectl's JSONPath template: `{.a.b}`, `{.a\.b}`, `[0]`, `[*]`, `[?(@.k=="v")]`, `{"\n"}` and literal text. */
export function jsonpath(obj, template) {
  let out = '';
  for (const part of template.match(/\{[^}]*\}|[^{]+/g) ?? []) {
    if (!part.startsWith('{')) {
      out += part;
      continue;
    }
    const path = part.slice(1, -1).trim();
    // A string literal, such as {"\n"} between two fields.
    if (/^"(?:[^"\\]|\\.)*"$/.test(path)) {
      out += JSON.parse(path);
      continue;
    }
    let values = [obj];
    const tokens =
      path.match(/\[\?\(@\.[\w.-]+=="[^"]*"\)\]|\[\*\]|\[\d+\]|\.(?:[^.[\\]|\\.)+/g) ?? [];
    for (const t of tokens) {
      const next = [];
      for (const v of values) {
        if (v === undefined || v === null) continue;
        if (t === '[*]') next.push(...(Array.isArray(v) ? v : Object.values(v)));
        else if (t.startsWith('[?(')) {
          const [, k, want] = /\[\?\(@\.([\w.-]+)=="([^"]*)"\)\]/.exec(t);
          if (Array.isArray(v)) next.push(...v.filter((e) => String(e?.[k]) === want));
        } else if (t.startsWith('[')) next.push(v[Number(t.slice(1, -1))]);
        else next.push(v[t.slice(1).replace(/\\\./g, '.')]);
      }
      values = next;
    }
    out += values
      .filter((v) => v !== undefined)
      .map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))
      .join(' ');
  }
  return out;
}
