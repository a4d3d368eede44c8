/**
 * clusterctl test double: init only from a local repository laid out as clusterctl v1.9.5
 * requires (clusterctl-repository.mjs), with cert-manager already in the cluster (clusterctl
 * would otherwise fetch it from the internet); on the first run the core and kubeadm
 * providers are added as clusterctl adds them; with --wait-providers, CAPO must start, which
 * it cannot without ORC. kubeconfig once KubeadmControlPlane has written it, describe of a
 * cluster in the shared model (cluster.mjs); delete of every provider with its CRDs and
 * namespaces.
 */
import { existsSync } from 'node:fs';
import {
  CAPI_NAMESPACES,
  capoNotRunning,
  find,
  helmDeployed,
  kubeconfigMissing,
  load,
  remove,
  save,
  view,
} from './cluster.mjs';
import { overrideImage, readLocalProvider, validateProvider } from './clusterctl-repository.mjs';
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
/** docs/upstream-facts.md#clusterctl.init-flags: what the first init adds when not named. */
const FIRST_RUN = { core: 'cluster-api', bootstrap: 'kubeadm', 'control-plane': 'kubeadm' };

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
  if (command === 'init') return init(state, flags);
  const ns = flags.get('n') ?? flags.get('namespace') ?? 'default';
  if (command === 'get' && sub === 'kubeconfig') {
    // docs/upstream-facts.md#clusterctl.init-flags: clusterctl returns the Secret
    // <name>-kubeconfig as soon as it exists, Ready or not.
    const cluster = find(state, 'Cluster', ns, name);
    if (!cluster || kubeconfigMissing(state, cluster))
      refuse(`Error: "${name}-kubeconfig" not found in namespace "${ns}"`);
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

function init(state, flags) {
  const [config] = yamlDocuments(flags.get('config'));
  const providers = config?.providers ?? [];
  providers.forEach(validateProvider);
  const installed = readState('clusterctl.json', null)?.providers ?? [];
  const firstRun = !installed.some((p) => p.type === 'CoreProvider');
  const wanted = ORDER.flatMap((type) => {
    const flag = FLAG_OF[type];
    const given = flags.get(flag) ?? (firstRun ? FIRST_RUN[flag] : undefined);
    if (given === undefined) return [];
    const [pname, pinned] = given.split(':');
    const p = providers.find((x) => x.type === type && x.name === pname);
    // Not in the file: clusterctl would take its built-in GitHub URL.
    if (!p) refuse(`provider ${pname} (${type}) comes from GitHub, not from a local file`);
    const { label, version, components } = readLocalProvider(p);
    if (pinned && pinned !== version) refuse("this double installs the url's version only", 2);
    const images = components
      .filter((d) => d.kind === 'Deployment')
      .flatMap((d) => d.spec?.template?.spec?.containers ?? [])
      .map((c) => overrideImage(c.image, label, config.images));
    return [{ name: p.name, type, version, label, images }];
  });
  if (flags.get('infrastructure') !== 'openstack')
    refuse('the infrastructure provider must be openstack');
  if (!helmDeployed(state, 'cert-manager', 'cert-manager'))
    refuse('cert-manager is not installed: clusterctl would download it from the internet');
  const all = [...installed, ...wanted.filter((w) => !installed.some((i) => i.type === w.type))];
  writeState('clusterctl.json', { providers: all, images: config.images ?? null });
  // docs/upstream-facts.md#clusterctl.init-flags, #capo.orc: the providers are installed,
  // then clusterctl waits for their Deployments; CAPO's never becomes Available without ORC.
  const capo = capoNotRunning(state);
  if (flags.get('wait-providers') && wanted.some((p) => p.name === 'openstack') && capo)
    refuse(
      `Error: deployment "capo-controller-manager" is not ready after 5m0s: context deadline exceeded (${capo})`,
    );
  return {
    providers: wanted.map((p) => `${p.type}/${p.name}@${p.version}`),
    images: wanted.flatMap((p) => p.images),
  };
}
