/**
 * clusterctl test double: init only from local provider files that exist on the host, with
 * cert-manager already in the cluster (clusterctl would otherwise fetch it from the
 * internet), core before the others; kubeconfig and describe of a cluster the shared model
 * (cluster.mjs) reports Ready; delete of every provider with its CRDs and namespaces.
 */
import { existsSync } from 'node:fs';
import { CAPI_NAMESPACES, find, helmDeployed, load, remove, save, view } from './cluster.mjs';
import { at, parseFlags, readState, refuse, runDouble, writeState, yamlDocuments } from './lib.mjs';

const ORDER = [
  'CoreProvider',
  'BootstrapProvider',
  'ControlPlaneProvider',
  'InfrastructureProvider',
];
const FLAG_OF = {
  CoreProvider: 'core',
  BootstrapProvider: 'bootstrap',
  ControlPlaneProvider: 'control-plane',
  InfrastructureProvider: 'infrastructure',
};

runDouble('clusterctl', (argv) => {
  const { flags, rest } = parseFlags(argv, [
    'config',
    'core',
    'bootstrap',
    'control-plane',
    'infrastructure',
    'wait-providers!',
    'n',
    'namespace',
    'all!',
    'include-crd!',
    'include-namespace!',
  ]);
  const [command, sub, name] = rest;
  if (command === 'version') {
    process.stdout.write('clusterctl version: &version.Info{GitVersion:"v1.9.5"}\n');
    return undefined;
  }
  if (!existsSync(at('/etc/kubernetes/admin.conf')))
    refuse('management cluster unreachable (no admin.conf)');
  const state = load();
  if (command === 'init') {
    const [config] = yamlDocuments(flags.get('config'));
    const providers = config?.providers ?? [];
    for (const p of providers) {
      if (!String(p.url).startsWith('file://'))
        refuse(`provider ${p.name} comes from ${p.url}, not from a local file`);
      const file = at(String(p.url).slice('file://'.length));
      if (!existsSync(file))
        refuse(`provider ${p.name}: ${file} does not exist (is the bundle pushed?)`);
      yamlDocuments(file);
    }
    if (flags.get('infrastructure') !== 'openstack')
      refuse('the infrastructure provider must be openstack');
    if (!helmDeployed(state, 'cert-manager', 'cert-manager'))
      refuse('cert-manager is not installed: clusterctl would download it from the internet');
    const installed = readState('clusterctl.json', null)?.providers ?? [];
    const wanted = ORDER.flatMap((type) => {
      const given = flags.get(FLAG_OF[type]);
      if (given === undefined) return [];
      const p = providers.find((x) => x.type === type && x.name === given);
      if (!p) refuse(`no ${type} named ${given} in ${flags.get('config')}`);
      return [{ name: p.name, type, version: /\/(v[\d.]+)\//.exec(p.url)?.[1] }];
    });
    const all = [...installed, ...wanted.filter((w) => !installed.some((i) => i.type === w.type))];
    if (!all.some((p) => p.type === 'CoreProvider'))
      refuse('the core provider (cluster-api) must be installed before any other');
    writeState('clusterctl.json', { providers: all, images: config.images ?? null });
    return { providers: wanted.map((p) => `${p.type}/${p.name}@${p.version}`) };
  }
  const ns = flags.get('n') ?? flags.get('namespace') ?? 'default';
  if (command === 'get' && sub === 'kubeconfig') {
    const cluster = find(state, 'Cluster', ns, name);
    if (!cluster) refuse(`Error: cluster ${ns}/${name} not found`);
    if (view(state, cluster).status.conditions[0].status !== 'True')
      refuse(`Error: cluster ${name} is not Ready: no kubeconfig yet`);
    process.stdout.write(
      `apiVersion: v1\nkind: Config\nclusters:\n- name: ${name}\n  cluster:\n    server: https://${name}.garden:6443\ncontexts:\n- name: ${name}-admin@${name}\n  context: { cluster: ${name}, user: ${name}-admin }\ncurrent-context: ${name}-admin@${name}\nusers:\n- name: ${name}-admin\n  user: { client-certificate-data: ZG91Ymxl, client-key-data: ZG91Ymxl }\n`,
    );
    return { cluster: `${ns}/${name}` };
  }
  if (command === 'describe' && sub === 'cluster') {
    const cluster = find(state, 'Cluster', ns, name);
    if (!cluster) refuse(`Error: cluster ${ns}/${name} not found`);
    const ready = view(state, cluster).status.conditions[0];
    process.stdout.write(
      `NAME\tREADY\tREASON\nCluster/${name}\t${ready.status}\t${ready.reason}\n`,
    );
    return undefined;
  }
  if (command === 'delete' && flags.get('all')) {
    if (!flags.get('include-crd'))
      refuse('this double deletes providers with --include-crd only', 2);
    writeState('clusterctl.json', null);
    // --include-namespace: the providers' namespaces go; their CRDs (and every object of
    // them) vanish with the providers in the model.
    if (flags.get('include-namespace'))
      for (const n of Object.values(CAPI_NAMESPACES)) remove(state, `Namespace/default/${n}`);
    save(state);
    return { deleted: 'all' };
  }
  refuse(`this double does not know "clusterctl ${argv.join(' ')}"`, 2);
});
