import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Namespace, Pod, Service } from 'kubernetes-models/v1';
import { StorageClass } from 'kubernetes-models/storage.k8s.io/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { isUstartError } from '../errors.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { defaultRunbookDir, loadRunbook, type Runbook } from '../runbook/load.js';
import { assetPath } from '../util/assets.js';
import { GENERATOR_NAMES } from './generators/index.js';
import { MIRRORED_REGISTRIES } from './generators/site-registry.js';
import { hostEnvVars } from './host-env.js';
import { KubeadmDocument } from './kubeadm-schema.js';
import { Renderer } from './render.js';
import { renderFiles, type RenderedFile, writeRender } from './write.js';

let plan: Plan;
let runbook: Runbook;
let tmp: string;

beforeAll(async () => {
  plan = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  runbook = await loadRunbook([defaultRunbookDir()], { generators: GENERATOR_NAMES });
  tmp = await mkdtemp(join(tmpdir(), 'ustart-render-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function airGapped(p: Plan): Plan {
  return { ...structuredClone(p), site: { ...p.site, airGapped: true } };
}

async function render(p: Plan): Promise<RenderedFile[]> {
  return renderFiles(await Renderer.create(p, runbook));
}

function docs(text: string): Array<Record<string, unknown>> {
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
}

function file(files: RenderedFile[], path: string): string {
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`${path} was not rendered`);
  return found.content;
}

describe('render', () => {
  it('gives the same bytes for the same plan, in memory and on disk', async () => {
    const a = await render(plan);
    const b = await render(structuredClone(plan));
    expect(b).toEqual(a);
    const one = join(tmp, 'one');
    const two = join(tmp, 'two');
    await writeRender(await Renderer.create(plan, runbook), one);
    await writeRender(await Renderer.create(plan, runbook), two);
    for (const f of a) {
      const [x, y] = await Promise.all([readFile(join(one, f.path)), readFile(join(two, f.path))]);
      expect(y.equals(x)).toBe(true);
      expect(x.toString('utf8')).toBe(f.content);
    }
  });

  it('writes each step only for the hosts it targets', async () => {
    const files = await render(plan);
    const hostsOf = (step: string) =>
      [
        ...new Set(
          files.filter((f) => f.path.split('/')[1] === step).map((f) => f.path.split('/')[0]),
        ),
      ].sort();
    expect(hostsOf('umetal.kubeadm-init')).toEqual(['ctl-01']);
    expect(hostsOf('umetal.join-controllers')).toEqual(['ctl-02', 'ctl-03']);
    expect(hostsOf('umetal.join-workers')).toEqual(
      ['cmp-01', 'cmp-02', 'cmp-03', 'cmp-04', 'sto-01', 'sto-02', 'sto-03'].sort(),
    );
    expect(hostsOf('reset-umetal.ceph-disks')).toEqual(['sto-01', 'sto-02', 'sto-03']);
    // Controllers are reset one at a time, the first one last: kubeadm reset removes each
    // one's etcd member, one membership change at a time (docs/upstream-facts.md#kubeadm.reset-etcd).
    expect(hostsOf('reset-umetal.kubernetes-other-controllers')).toEqual(['ctl-02', 'ctl-03']);
    expect(hostsOf('reset-umetal.kubernetes-first-controller')).toEqual(['ctl-01']);
    const step = (id: string) => runbook.steps.find((s) => s.id === id)!;
    expect(step('reset-umetal.kubernetes-other-controllers').parallelism).toBe(1);
    expect(step('reset-umetal.kubernetes-first-controller').after).toEqual([
      'reset-umetal.kubernetes-other-controllers',
    ]);
    const index = JSON.parse(file(files, 'index.json')) as { steps: Array<{ id: string }> };
    expect(index.steps.map((s) => s.id)).toEqual(runbook.steps.map((s) => s.id));
  });

  it('refuses to replace a folder that holds something other than a render', async () => {
    const foreign = join(tmp, 'foreign');
    await writeRender(await Renderer.create(plan, runbook), foreign);
    await rm(join(foreign, 'index.json'));
    await writeFile(join(foreign, 'thesis.txt'), 'precious');
    let thrown: unknown;
    try {
      await writeRender(await Renderer.create(plan, runbook), foreign);
    } catch (e) {
      thrown = e;
    }
    expect(isUstartError(thrown, 'InvalidArgument')).toBe(true);
    expect(await readFile(join(foreign, 'thesis.txt'), 'utf8')).toBe('precious');
  });
});

describe('kubeadm configuration', () => {
  it('matches the v1beta4 schema and takes endpoint, CIDRs and version from the plan', async () => {
    const files = await render(plan);
    const init = docs(file(files, 'ctl-01/umetal.kubeadm-init/files/etc/ustart/kubeadm/init.yaml'));
    for (const d of init) KubeadmDocument.parse(d);
    const cluster = init.find((d) => d.kind === 'ClusterConfiguration')!;
    expect(cluster).toMatchObject({
      controlPlaneEndpoint: `${plan.kubernetes.controlPlaneVip}:6443`,
      kubernetesVersion: `v${plan.kubernetes.version}`,
      networking: {
        podSubnet: plan.kubernetes.podCidr,
        serviceSubnet: plan.kubernetes.serviceCidr,
      },
    });
    expect(init.find((d) => d.kind === 'KubeletConfiguration')).toMatchObject({
      cgroupDriver: 'systemd',
    });
  });

  it('joins controllers with a control-plane section and workers without one', async () => {
    const files = await render(plan);
    const ctl = docs(
      file(files, 'ctl-02/umetal.join-controllers/files/etc/ustart/kubeadm/join.yaml'),
    );
    const cmp = docs(file(files, 'cmp-01/umetal.join-workers/files/etc/ustart/kubeadm/join.yaml'));
    for (const d of [...ctl, ...cmp]) KubeadmDocument.parse(d);
    expect(ctl[0]).toMatchObject({
      controlPlane: { localAPIEndpoint: { advertiseAddress: '10.10.0.12' } },
    });
    expect(cmp[0]!.controlPlane).toBeUndefined();
    // The token is filled in on the host from the join input: never rendered.
    expect(JSON.stringify(cmp)).toContain('@@KUBEADM_TOKEN@@');
  });

  it('rejects a misspelt field (the schema is strict)', () => {
    expect(
      KubeadmDocument.safeParse({
        apiVersion: 'kubeadm.k8s.io/v1beta4',
        kind: 'KubeletConfiguration',
        cgroupDriver: 'systemd',
        cgroupDrvier: 'systemd',
      }).success,
    ).toBe(false);
  });
});

describe('Kubernetes manifests', () => {
  it('validate against the Kubernetes API schemas (kubernetes-models)', async () => {
    const files = await render(plan);
    const vip = docs(
      file(files, 'ctl-01/umetal.kubeadm-init/files/etc/kubernetes/manifests/kube-vip.yaml'),
    );
    new Pod(vip[0] as never).validate();
    expect(JSON.stringify(vip[0])).toContain(plan.kubernetes.controlPlaneVip);
    const ceph = docs(
      file(files, 'ctl-01/umetal.ceph-cluster/files/etc/ustart/manifests/ceph-cluster.yaml'),
    );
    new StorageClass(ceph.find((d) => d.kind === 'StorageClass') as never).validate();
    const infra = docs(file(files, 'ctl-01/ustack.infra/files/etc/ustart/ustack/infra.yaml'));
    new Namespace(infra.find((d) => d.kind === 'Namespace') as never).validate();
    const service = infra.find((d) => d.kind === 'Service')!;
    new Service(service as never).validate();
    expect(JSON.stringify(service)).toContain(plan.openstack.publicVip);
    // The validation is real: a broken Pod fails it.
    expect(() =>
      new Pod({ apiVersion: 'v1', kind: 'Pod', spec: { containers: 'no' } } as never).validate(),
    ).toThrow();
  });

  it('puts Ceph OSDs on exactly the disks the plan marks ceph-osd', async () => {
    const files = await render(plan);
    const ceph = docs(
      file(files, 'ctl-01/umetal.ceph-cluster/files/etc/ustart/manifests/ceph-cluster.yaml'),
    );
    const cluster = ceph.find((d) => d.kind === 'CephCluster') as {
      spec: { storage: { useAllDevices: boolean; useAllNodes: boolean; nodes: unknown[] } };
    };
    expect(cluster.spec.storage.useAllDevices).toBe(false);
    expect(cluster.spec.storage.useAllNodes).toBe(false);
    const planned = plan.servers
      .map((s) => ({
        name: s.hostname,
        devices: s.disks
          .filter((d) => d.use === 'ceph-osd')
          .map((d) => ({ name: d.device.replace('/dev/', '') })),
      }))
      .filter((n) => n.devices.length > 0);
    expect(cluster.spec.storage.nodes).toEqual(planned);
    expect(planned.flatMap((n) => n.devices)).toHaveLength(12);
  });

  it('declares every custom resource with apiVersion, kind, name and namespace', async () => {
    const files = await render(plan);
    const yamls = files.filter((f) => /\/files\/.*\.yaml$/.test(f.path));
    expect(yamls.length).toBeGreaterThan(20);
    for (const f of yamls) {
      for (const d of docs(f.content)) {
        if (!('kind' in d) || String(d.apiVersion).startsWith('kubeadm.k8s.io')) continue;
        expect(d, f.path).toMatchObject({
          apiVersion: expect.any(String),
          kind: expect.any(String),
        });
        const meta = d.metadata as { name?: string } | undefined;
        if (d.kind !== 'KubeletConfiguration') expect(meta?.name, f.path).toMatch(/^[a-z0-9.-]+$/);
      }
    }
  });
});

describe('values from the plan reach scripts only through the env file', () => {
  it('env.sample documents exactly the variables the renderer writes', async () => {
    const sample = await readFile(join(defaultRunbookDir(), 'scripts', 'env.sample'), 'utf8');
    const documented = [...sample.matchAll(/^(USTART_[A-Z0-9_]+)=/gm)].map((m) => m[1]);
    const site = (await Renderer.create(plan, runbook)).site;
    const written = hostEnvVars(
      (await Renderer.create(plan, runbook)).context(site.firstController),
    ).map(([name]) => name);
    expect(documented).toEqual(written);
  });

  it('every USTART_ variable a script uses is written by the renderer or set by lib.sh', async () => {
    const renderer = await Renderer.create(plan, runbook);
    const known = new Set(
      hostEnvVars(renderer.context(renderer.site.firstController)).map(([n]) => n),
    );
    const files = await render(plan);
    const lib = file(files, 'lib.sh');
    for (const m of lib.matchAll(/^\s*(?:local\s+)?(USTART_[A-Z0-9_]+)=/gm)) known.add(m[1]!);
    const unknown = new Set<string>();
    for (const f of files.filter((x) => x.path.endsWith('.sh'))) {
      for (const m of f.content.matchAll(/\$\{?!?(USTART_[A-Z0-9_]+)/g)) {
        if (!known.has(m[1]!)) unknown.add(`${f.path}: ${m[1]}`);
      }
    }
    expect([...unknown]).toEqual([]);
  });

  it('quotes a hostile value so that sourcing the env file runs nothing', async () => {
    const hostile = structuredClone(plan);
    hostile.site.name = "demo'; touch /tmp/pwned; echo '";
    const files = await render(hostile);
    expect(file(files, 'ctl-01/env')).toContain(
      `USTART_SITE='demo'\\''; touch /tmp/pwned; echo '\\'''`,
    );
  });
});

/**
 * Hosts named in rendered text: by URLs and NTP lines (`reached`: the host would be
 * contacted), and by image references (`image`: a registry, which containerd resolves through
 * the site registry's mirrors on an air-gapped site).
 */
function namedHosts(text: string): Array<{ host: string; kind: 'reached' | 'image' }> {
  const hosts: Array<{ host: string; kind: 'reached' | 'image' }> = [];
  for (const m of text.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/([^/\s'"`:]*)/gi))
    hosts.push({ host: m[1]!, kind: 'reached' });
  const imageKeys =
    /^[ \t]*-?[ \t]*(?:image|repository|imageRepository|registry|imageRegistry|sandbox_image)[ \t]*[:=][ \t]*"?([^"\s]+)"?/gm;
  for (const m of text.matchAll(imageKeys)) {
    const ref = m[1]!;
    if (ref === 'null' || ref.startsWith('{')) continue;
    hosts.push({ host: ref.includes('/') ? ref.split('/')[0]! : ref, kind: 'image' });
  }
  // chrony's `server NAME`; a TOML `server = "URL"` (containerd's hosts.toml) is a URL above.
  for (const m of text.matchAll(/^(?:server|pool)\s+([^\s=]\S*)/gm))
    hosts.push({ host: m[1]!, kind: 'reached' });
  return hosts;
}

function outsidePlan(p: Plan, files: RenderedFile[]): string[] {
  const allowed = new Set<string>([
    '',
    'localhost',
    '127.0.0.1',
    p.kubernetes.controlPlaneVip,
    p.openstack.publicVip,
    ...p.site.ntp,
    ...p.site.dns,
    ...p.servers.flatMap((s) => [s.hostname, ...Object.values(s.addresses)]),
  ]);
  const inSite = (h: string) =>
    allowed.has(h) ||
    // Filled in on the host from the env file (`$VAR`) or a printf format (`%s`).
    /[$%]/.test(h) ||
    h.endsWith(`.${p.site.domain}`) ||
    h.endsWith('.svc') ||
    h.endsWith('.svc.cluster.local');
  const found: string[] = [];
  for (const f of files) {
    for (const { host, kind } of namedHosts(f.content)) {
      const mirrored =
        kind === 'image' && (MIRRORED_REGISTRIES as readonly string[]).includes(host);
      if (!inSite(host) && !(p.site.airGapped && mirrored)) found.push(`${f.path}: ${host}`);
    }
  }
  return [...new Set(found)];
}

describe('an air-gapped site', () => {
  it('renders nothing that reaches a host outside the plan; images name mirrored registries', async () => {
    expect(outsidePlan(airGapped(plan), await render(airGapped(plan)))).toEqual([]);
  });

  it('is a real check: the connected render does name internet registries', async () => {
    const found = outsidePlan(plan, await render(plan));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/kubeadm\/init\.yaml: registry\.k8s\.io$/),
        expect.stringMatching(/kube-vip\.yaml: ghcr\.io$/),
      ]),
    );
  });

  it("asks by tag where a chart's default asks by digest (a narrowed index has another one)", async () => {
    const files = await render(airGapped(plan));
    const values = (suffix: string) => docs(files.find((f) => f.path.endsWith(suffix))!.content)[0];
    expect(values('/etc/ustart/ustack/ingress-nginx-values.yaml')).toMatchObject({
      controller: {
        image: { digest: '' },
        admissionWebhooks: { patch: { image: { digest: '' } } },
      },
    });
    expect(values('/etc/ustart/helm/alloy.yaml')).toMatchObject({
      configReloader: { image: { tag: 'v0.91.0' } },
    });
  });

  it('pulls by upstream names, through the site registry', async () => {
    const files = await render(airGapped(plan));
    const init = docs(file(files, 'ctl-01/umetal.kubeadm-init/files/etc/ustart/kubeadm/init.yaml'));
    // kubeadm pulls what the node lacks (a policy of Never would never fetch from the mirror).
    expect(init[0]).toMatchObject({ nodeRegistration: { imagePullPolicy: 'IfNotPresent' } });
    expect(init[1]).toMatchObject({ imageRepository: 'registry.k8s.io' });
    expect(init[1]).not.toHaveProperty('dns');
    const config = file(files, 'cmp-01/umetal.containerd/files/etc/containerd/config.toml');
    expect(config).toContain('sandbox_image = "registry.k8s.io/pause:3.10"');
    expect(config).toContain('config_path = "/etc/containerd/certs.d"');
    const ctl = airGapped(plan).servers.find((s) => s.hostname === 'ctl-01')!;
    expect(
      file(
        files,
        'cmp-01/umetal.containerd/files/etc/containerd/certs.d/registry.k8s.io/hosts.toml',
      ),
    ).toContain(`server = "http://${ctl.addresses.mgmt ?? ''}:5000/v2/registry.k8s.io"`);
    // The workload cluster's machines get the same mirrors, every controller's registry.
    const workload = docs(
      file(
        files,
        'ctl-01/ugarden.repository/files/etc/ustart/garden/clusters/workload-cluster.yaml',
      ),
    ) as Array<{ kind: string; spec: Record<string, unknown> }>;
    const filesOf = (kind: string) => {
      const d = workload.find((w) => w.kind === kind)!;
      const spec = (
        kind === 'KubeadmControlPlane'
          ? d.spec.kubeadmConfigSpec
          : (d.spec.template as { spec: unknown }).spec
      ) as {
        files?: Array<{ path: string; content: string }>;
      };
      return spec.files ?? [];
    };
    for (const kind of ['KubeadmControlPlane', 'KubeadmConfigTemplate']) {
      const mirrors = filesOf(kind).filter((f) => f.path.startsWith('/etc/containerd/certs.d/'));
      expect(mirrors.map((f) => f.path).sort(), kind).toEqual(
        MIRRORED_REGISTRIES.map((r) => `/etc/containerd/certs.d/${r}/hosts.toml`).sort(),
      );
      for (const c of ['10.10.0.11', '10.10.0.12', '10.10.0.13'])
        expect(mirrors[0]!.content).toContain(`[host."http://${c}:5000/v2/`);
    }
    const connected = docs(
      file(
        await render(plan),
        'ctl-01/ugarden.repository/files/etc/ustart/garden/clusters/workload-cluster.yaml',
      ),
    );
    expect(JSON.stringify(connected)).not.toContain('certs.d');
    // Nothing names the site-local registry name images were once rewritten to.
    for (const f of files) expect(f.content, f.path).not.toContain('ustart.invalid');
  });
});
