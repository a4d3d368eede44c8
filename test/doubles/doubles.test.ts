/**
 * The test doubles of kubeadm, kubectl, helm and clusterctl, run directly as the runbook's
 * scripts would run them, with the configuration uStart renders for the demo plan. Their
 * file system is a temporary folder (USTART_DOUBLES_ROOT), so nothing on this machine changes.
 */
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import { Renderer } from '../../src/render/render.js';
import { loadSiteRunbook } from '../../src/render/step-specs.js';
import { renderFiles, type RenderedFile } from '../../src/render/write.js';
import { assetPath } from '../../src/util/assets.js';
import {
  doublesCluster,
  filledJoin,
  initFirstController as initController,
  uMetalCluster,
  type DoubleHost,
  type DoublesCluster,
} from './harness.js';

let rendered: RenderedFile[];
let servers: Plan['servers'];
let lab: DoublesCluster;

beforeAll(async () => {
  const plan = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  servers = plan.servers;
  rendered = renderFiles(await Renderer.create(plan, await loadSiteRunbook()));
});
beforeEach(async () => {
  lab = await doublesCluster();
});
afterEach(async () => {
  await lab.dispose();
});

const host = (name: string) => lab.host(name);

function renderedFile(path: string): string {
  const f = rendered.find((r) => r.path === path);
  if (!f) throw new Error(`${path} was not rendered`);
  return f.content;
}

const INIT = 'ctl-01/umetal.kubeadm-init/files/etc/ustart/kubeadm/init.yaml';
const VIP = 'ctl-01/umetal.kubeadm-init/files/etc/kubernetes/manifests/kube-vip.yaml';

/** kubeadm init on ctl-01 as kubeadm-init.sh does it; returns the join material. */
async function initFirstController(ctl: DoubleHost) {
  const m = await initController(ctl, renderedFile);
  expect(m.init.stderr).toBe('');
  expect(m.init.status).toBe(0);
  return m;
}

const filled = filledJoin;

describe('kubeadm double', { timeout: 120_000 }, () => {
  it('accepts the rendered init config and hands out a token it lists', async () => {
    const ctl = host('ctl-01');
    const m = await initFirstController(ctl);
    expect(m.init.stdout).toContain('--token');
    expect(m.token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(m.key).toMatch(/^[0-9a-f]{64}$/);
    expect(ctl.run('kubeadm', 'token', 'list', '-o', '{.token}').stdout).toContain(m.token);
    const calls = (await ctl.calls()).filter((c) => c.tool === 'kubeadm');
    expect(calls.map((c) => c.argv.slice(0, 2).join(' '))).toEqual([
      'init --config',
      'token create',
      'init phase',
      'token list',
    ]);
    expect(calls[0]!.seen).toMatchObject({
      endpoint: '10.10.0.5:6443',
      podSubnet: '10.244.0.0/16',
    });
  });

  it('refuses a second init, an init without kube-vip, and a config with a misspelt field', async () => {
    const ctl = host('ctl-01');
    await initFirstController(ctl);
    const again = ctl.run(
      'kubeadm',
      'init',
      '--config',
      join(ctl.root, 'etc/ustart/kubeadm/init.yaml'),
    );
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('this node is initialised');

    const bare = host('bare');
    const config = await bare.put('/init.yaml', renderedFile(INIT));
    expect(bare.run('kubeadm', 'init', '--config', config).stderr).toContain(
      'no kube-vip manifest',
    );
    await bare.put('/etc/kubernetes/manifests/kube-vip.yaml', renderedFile(VIP));
    const typo = await bare.put(
      '/typo.yaml',
      renderedFile(INIT).replace('podSubnet:', 'podSubnets:'),
    );
    expect(bare.run('kubeadm', 'init', '--config', typo).stderr).toContain(
      'networking.podSubnet is not a CIDR',
    );
  });

  it('joins with filled-in material only, once, and never with a token on the command line', async () => {
    const m = await initFirstController(host('ctl-01'));
    const cmp = host('cmp-01');
    await cmp.kubelet();
    const template = renderedFile('cmp-01/umetal.join-workers/files/etc/ustart/kubeadm/join.yaml');
    const unfilled = await cmp.put('/etc/ustart/kubeadm/join.yaml', template);
    expect(cmp.run('kubeadm', 'join', '--config', unfilled).stderr).toContain('@@placeholders@@');
    expect(cmp.run('kubeadm', 'join', '--token', m.token).status).toBe(2);
    const config = await cmp.put('/etc/ustart/kubeadm/join.final.yaml', filled(template, m));
    expect(cmp.run('kubeadm', 'join', '--config', config).status).toBe(0);
    expect(cmp.run('kubeadm', 'join', '--config', config).stderr).toContain('has joined');
    const [, , ok] = (await cmp.calls()).filter((c) => c.tool === 'kubeadm');
    expect(ok).toMatchObject({
      ok: true,
      seen: { token: m.token, controlPlane: false, node: 'cmp-01' },
    });
  });

  it('joins a controller with its certificate key', async () => {
    const m = await initFirstController(host('ctl-01'));
    const ctl2 = host('ctl-02');
    await ctl2.kubelet();
    const template = renderedFile(
      'ctl-02/umetal.join-controllers/files/etc/ustart/kubeadm/join.yaml',
    );
    const config = await ctl2.put('/join.yaml', filled(template, m));
    expect(ctl2.run('kubeadm', 'join', '--config', config).status).toBe(0);
    expect((await ctl2.calls()).find((c) => c.tool === 'kubeadm')!.seen).toMatchObject({
      controlPlane: true,
      certificateKey: m.key,
    });
  });

  it('resets a node so that it can be initialised again', async () => {
    const ctl = host('ctl-01');
    await initFirstController(ctl);
    expect(ctl.run('kubeadm', 'reset', '--force').status).toBe(0);
    await ctl.put('/etc/kubernetes/manifests/kube-vip.yaml', renderedFile(VIP));
    expect(
      ctl.run('kubeadm', 'init', '--config', join(ctl.root, 'etc/ustart/kubeadm/init.yaml')).status,
    ).toBe(0);
  });
});

// Every kubectl, helm, clusterctl and openstack call starts a double's process (Node and its
// loader): a test makes dozens, which on a loaded two-core machine takes more than the default.
const DOUBLE_PROCESSES = { timeout: 120_000 };

describe('kubectl, helm and clusterctl doubles', DOUBLE_PROCESSES, () => {
  it('need a cluster, then apply, diff, label and install from chart archives', async () => {
    const ctl = host('ctl-01');
    expect(ctl.run('kubectl', 'get', '--raw', '/readyz').stderr).toContain(
      'kubeadm init has not run',
    );
    await uMetalCluster(lab, renderedFile, servers);
    expect(ctl.run('kubectl', 'get', '--raw', '/readyz').stdout).toBe('ok\n');
    // Rook's CRDs, and the Prometheus CRDs its monitoring needs, come with their charts.
    for (const [chart, ns] of [
      ['kube-prometheus-stack-66.3.1', 'monitoring'],
      ['rook-ceph-v1.15.6', 'rook-ceph'],
    ] as const) {
      const archive = await ctl.put(`/bundle/charts/${chart}.tgz`, 'archive');
      expect(ctl.run('helm', 'upgrade', '--install', chart, archive, '-n', ns).status).toBe(0);
    }

    const ceph = await ctl.put(
      '/ceph.yaml',
      renderedFile('ctl-01/umetal.ceph-cluster/files/etc/ustart/manifests/ceph-cluster.yaml'),
    );
    expect(ctl.run('kubectl', 'diff', '-f', ceph).status).toBe(1);
    expect(ctl.run('kubectl', 'apply', '-f', ceph).status).toBe(0);
    expect(ctl.run('kubectl', 'diff', '-f', ceph).status).toBe(0);
    const osds = ctl.run(
      'kubectl',
      '-n',
      'rook-ceph',
      'get',
      'deploy',
      '-l',
      'app=rook-ceph-osd',
      '-o',
      'jsonpath={}',
    );
    expect(osds.stdout.trim().split('\n')).toHaveLength(12);

    expect(
      ctl.run(
        'kubectl',
        'label',
        'node',
        'cmp-01',
        '--overwrite',
        'compute.yaook.cloud/hypervisor=true',
      ).status,
    ).toBe(0);
    expect(ctl.run('kubectl', 'label', 'node', 'cmp-01', '--overwrite', 'bad label').status).toBe(
      1,
    );
    expect(
      ctl.run('kubectl', 'get', 'node', 'cmp-01', '--show-labels', '--no-headers').stdout,
    ).toContain('compute.yaook.cloud/hypervisor=true');

    const values = await ctl.put(
      '/values.yaml',
      renderedFile('ctl-01/umetal.cni/files/etc/ustart/helm/cilium.yaml'),
    );
    expect(
      ctl.run(
        'helm',
        'upgrade',
        '--install',
        'cilium',
        '/nope.tgz',
        '--namespace',
        'kube-system',
        '--values',
        values,
      ).stderr,
    ).toContain('not a chart archive');
    const chart = await ctl.put('/bundle/charts/cilium-1.16.5.tgz', 'archive');
    const install = [
      'upgrade',
      '--install',
      'cilium',
      chart,
      '--namespace',
      'kube-system',
      '--create-namespace',
      '--values',
      values,
      '--wait',
      '--timeout',
      '20m',
    ];
    expect(ctl.run('helm', ...install).status).toBe(0);
    expect(
      ctl.run('helm', 'status', 'cilium', '--namespace', 'kube-system', '-o', 'json').stdout,
    ).toContain('"status":"deployed"');

    const capi = renderedFile('ctl-01/ugarden.capi/files/etc/ustart/garden/clusterctl.yaml');
    const config = await ctl.put('/clusterctl.yaml', capi);
    // clusterctl reads the providers from the bundle and needs cert-manager in the cluster.
    for (const [, path] of capi.matchAll(/file:\/\/(\S+)/g)) {
      await ctl.put(path!, 'apiVersion: v1\nkind: Namespace\nmetadata: { name: x }\n');
      const [major, minor] = /\/v(\d+)\.(\d+)\./.exec(path!)!.slice(1).map(Number);
      await ctl.put(
        path!.replace(/[^/]+$/, 'metadata.yaml'),
        stringify({
          apiVersion: 'clusterctl.cluster.x-k8s.io/v1alpha3',
          kind: 'Metadata',
          releaseSeries: [{ major, minor, contract: 'v1beta1' }],
        }),
      );
    }
    const cm = await ctl.put('/bundle/charts/cert-manager-v1.16.2.tgz', 'archive');
    const crds = await ctl.put('/cert-manager.yaml', 'crds:\n  enabled: true\n');
    expect(
      ctl.run('helm', 'upgrade', '--install', 'cert-manager', cm, '-n', 'cert-manager', '-f', crds)
        .status,
    ).toBe(0);
    // CAPO starts only with ORC's CRD (docs/upstream-facts.md#capo.orc).
    const orc = await ctl.put(
      '/orc.yaml',
      stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'images.openstack.k-orc.cloud' },
        spec: {
          group: 'openstack.k-orc.cloud',
          names: { kind: 'Image', plural: 'images' },
          scope: 'Namespaced',
          versions: [{ name: 'v1alpha1', served: true, storage: true }],
        },
      }),
    );
    expect(ctl.run('kubectl', 'apply', '-f', orc).stderr).toBe('');
    expect(
      ctl.run(
        'clusterctl',
        'init',
        '--config',
        config,
        '--core',
        'cluster-api',
        '--infrastructure',
        'openstack',
        '--wait-providers',
      ).status,
    ).toBe(0);
    const online = await ctl.put(
      '/online.yaml',
      'providers:\n  - name: cluster-api\n    type: CoreProvider\n    url: https://example.invalid/x.yaml\n',
    );
    expect(
      ctl.run('clusterctl', 'init', '--config', online, '--infrastructure', 'openstack').stderr,
    ).toContain('not from a local file');

    const calls = await ctl.calls();
    expect(calls.filter((c) => !c.ok).map((c) => c.tool)).toEqual([
      'kubectl',
      'kubectl',
      'kubectl',
      'helm',
      'clusterctl',
    ]);
  });

  it('keep every release when helm runs on one host from several steps at once', async () => {
    const ctl = host('ctl-01');
    await initFirstController(ctl);
    const chart = await ctl.put('/bundle/charts/loki-6.24.0.tgz', 'archive');
    const releases = Array.from({ length: 24 }, (_, i) => `release-${i}`);
    // Monitoring and logging install their charts at the same time on the first controller.
    await Promise.all(
      releases.map((r) => ctl.start('helm', 'upgrade', '--install', r, chart, '-n', 'logging')),
    );
    for (const r of releases) {
      expect(ctl.run('helm', 'status', r, '--namespace', 'logging', '-o', 'json').stdout).toContain(
        '"status":"deployed"',
      );
    }
  });
});
