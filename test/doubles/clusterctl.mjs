/** clusterctl test double: init only from local provider files, kubeconfig of a known cluster. */
import { existsSync } from 'node:fs';
import { at, parseFlags, readState, refuse, runDouble, writeState, yamlDocuments } from './lib.mjs';

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
  if (command === 'init') {
    const [config] = yamlDocuments(flags.get('config'));
    const providers = config?.providers ?? [];
    for (const p of providers)
      if (!String(p.url).startsWith('file://'))
        refuse(`provider ${p.name} comes from ${p.url}, not from a local file`);
    if (flags.get('infrastructure') !== 'openstack')
      refuse('the infrastructure provider must be openstack');
    writeState('clusterctl.json', { providers: providers.map((p) => `${p.type}/${p.name}`) });
    return { providers: providers.map((p) => p.name) };
  }
  if (command === 'get' && sub === 'kubeconfig') {
    if (!readState('clusterctl.json', undefined)) refuse('clusterctl init has not run');
    process.stdout.write(`apiVersion: v1\nkind: Config\nclusters:\n- name: ${name}\n`);
    return { cluster: name };
  }
  if (command === 'describe') return undefined;
  if (command === 'delete' && flags.get('all')) {
    writeState('clusterctl.json', null);
    return undefined;
  }
  refuse(`this double does not know "clusterctl ${argv.join(' ')}"`, 2);
});
