/** helm test double: installs "releases" from chart archives that must exist, with values that must be YAML. */
import { existsSync } from 'node:fs';
import { chartProblem } from './charts.mjs';
import { chartOf, checkRelease, load, save, uninstalled } from './cluster.mjs';
import {
  at,
  clusterNodes,
  parseFlags,
  readState,
  refuse,
  runDouble,
  writeState,
  yamlDocuments,
} from './lib.mjs';

runDouble('helm', (argv) => {
  const { flags, rest } = parseFlags(argv, [
    'install!',
    'namespace',
    'n',
    'create-namespace!',
    'values',
    'f',
    'wait!',
    'timeout',
    'o',
    'output',
  ]);
  const [command, release, chart] = rest;
  const ns = flags.get('namespace') ?? flags.get('n') ?? 'default';
  const releases = readState('helm.json', {});
  if (command === 'status') {
    if (!releases[`${ns}/${release}`]) refuse(`Error: release: not found`);
    process.stdout.write(
      JSON.stringify({ name: release, namespace: ns, info: { status: 'deployed' } }) + '\n',
    );
    return undefined;
  }
  if (!existsSync(at('/etc/kubernetes/admin.conf')))
    refuse('Kubernetes cluster unreachable (no admin.conf)');
  if (command === 'upgrade') {
    if (!flags.get('install')) refuse('the runbook always uses upgrade --install');
    if (!chart?.endsWith('.tgz') || !existsSync(chart))
      refuse(`chart ${chart} is not a chart archive on this host`);
    const values = flags.get('values') ?? flags.get('f');
    const parsed = values ? yamlDocuments(values)[0] : undefined;
    const { name, version } = chartOf(chart);
    const checked = checkRelease(load(), release, ns, name, parsed, version);
    if (flags.get('wait')) {
      const problem = chartProblem(
        name,
        parsed,
        clusterNodes(),
        readState('kubeadm.json', {}).cluster,
      );
      if (problem) refuse(`Error: UPGRADE FAILED: ${problem}`);
    }
    releases[`${ns}/${release}`] = { chart, values };
    writeState('helm.json', releases);
    return { release, namespace: ns, chart, name, version, ...checked };
  }
  if (command === 'uninstall') {
    if (!releases[`${ns}/${release}`])
      refuse(`Error: uninstall: Release not loaded: ${release}: release: not found`);
    const state = load();
    uninstalled(state, ns, release);
    delete state.helm[`${ns}/${release}`];
    save(state);
    return { release, namespace: ns };
  }
  refuse(`this double does not know "helm ${argv.join(' ')}"`, 2);
});
