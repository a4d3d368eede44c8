/**
 * The first workload cluster against the doubles as Cluster API v1.9.5 and CAPO v0.12.2 would
 * treat it (issue 14 defects 4 and 6, docs/research/issue-14-ugarden-upstream.md D5–D7): the
 * render as it was is never Ready, for the reason the real controllers would give, and the
 * render as it is becomes Ready once its addons, wrapped by lib.sh as the repository step wraps
 * them, and the cloud provider's Secret, made by lib.sh as capi.sh makes it, are in place.
 *
 * The cluster is seeded as ugarden.capi leaves it: the providers installed, CAPO's credential
 * Secret with the site CA, the application credential known to uStack. The addon manifests
 * in the test bundle are small stand-ins with the upstream names and images (the real ones
 * are release files: docs/upstream-facts.md#calico.version, #ccm.openstack, #csi.cinder).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import {
  CALICO_VERSION,
  CLOUD_PROVIDER_OPENSTACK_VERSION,
  WORKLOAD_ADDONS,
  cloudConfSecret,
  workloadClusterName,
} from '../../src/render/generators/ugarden.js';
import { imagesOutsideBom } from '../../src/render/bom.js';
import { Renderer } from '../../src/render/render.js';
import { loadSiteRunbook } from '../../src/render/step-specs.js';
import { renderFiles } from '../../src/render/write.js';
import { defaultRunbookDir } from '../../src/runbook/load.js';
import { assetPath } from '../../src/util/assets.js';
import { GARDEN_API_ADDRESS_PLACEHOLDER } from '../../src/render/generators/garden-objects.js';
import {
  GARDEN_TEST_API_ADDRESS,
  doublesFolder,
  gardenObjectsState,
  keystoneSecrets,
  makeCaCertificate,
  orcCrdObject,
  writeCapiProviders,
} from './harness.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CREDENTIAL = { id: 'a1b2c3', secret: 'app-credential-secret' };
const ADMIN_PASSWORD = 'admin-password-never-in-cloud-conf';

let plan: Plan;
let cluster: string;
/** The rendered repository step's files, by name. */
let rendered: { cluster: string; addons: string };
let CA: string;
let dir: string;
const { state, put, sh } = doublesFolder(() => dir);
const lib = join(defaultRunbookDir(), 'scripts', 'lib.sh');
const b64 = (text: string) => Buffer.from(text).toString('base64');

async function render(airGapped: boolean) {
  const demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  const keep = ['ctl-01', 'ctl-02', 'ctl-03', 'cmp-01', 'sto-01'];
  plan = {
    ...demo,
    site: { ...demo.site, airGapped },
    servers: demo.servers.filter((s) => keep.includes(s.hostname)),
  };
  const files = renderFiles(await Renderer.create(plan, await loadSiteRunbook()));
  const file = (path: string) => {
    const f = files.find((r) => r.path.endsWith(`/ugarden.repository/files${path}`));
    if (!f) throw new Error(`ugarden.repository ${path} was not rendered`);
    return f.content.toString();
  };
  return {
    cluster: file('/etc/ustart/garden/clusters/workload-cluster.yaml'),
    addons: file('/etc/ustart/garden/workload-addons.tsv'),
  };
}

beforeAll(async () => {
  rendered = await render(false);
  cluster = workloadClusterName({ plan } as never);
  CA = await makeCaCertificate();
  dir = await mkdtemp(join(tmpdir(), 'ustart-capo-fidelity-'));
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Small stand-ins for the upstream release manifests, with their names and images. */
function standIn(file: string): string {
  const daemonSet = (name: string, namespace: string, image: string) =>
    stringify({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace },
      spec: { template: { spec: { containers: [{ name, image }] } } },
    });
  const base = file.split('/').at(-1)!;
  if (base === 'calico.yaml')
    return daemonSet('calico-node', 'kube-system', `docker.io/calico/node:${CALICO_VERSION}`);
  if (base === 'openstack-cloud-controller-manager-ds.yaml')
    return daemonSet(
      'openstack-cloud-controller-manager',
      'kube-system',
      `registry.k8s.io/provider-os/openstack-cloud-controller-manager:${CLOUD_PROVIDER_OPENSTACK_VERSION}`,
    );
  if (base === 'cinder-csi-nodeplugin.yaml')
    return daemonSet(
      'csi-cinder-nodeplugin',
      'kube-system',
      `registry.k8s.io/provider-os/cinder-csi-plugin:${CLOUD_PROVIDER_OPENSTACK_VERSION}`,
    );
  return stringify({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: base.replace(/\.yaml$/, ''), namespace: 'kube-system' },
  });
}

/** The cluster as ugarden.capi leaves it, with or without Octavia in uStack. */
async function seed(octavia = false) {
  await rm(state(), { recursive: true, force: true });
  await mkdir(state(), { recursive: true });
  await put('/etc/kubernetes/admin.conf', 'apiVersion: v1\nkind: Config\n');
  const clouds = stringify({
    clouds: {
      ustack: {
        auth_type: 'v3applicationcredential',
        auth: {
          auth_url: `https://keystone.${plan.site.domain}/v3`,
          application_credential_id: CREDENTIAL.id,
          application_credential_secret: CREDENTIAL.secret,
        },
        region_name: plan.openstack.region,
      },
    },
  });
  const octaviaObjects = octavia
    ? {
        'CustomResourceDefinition/default/octaviadeployments.yaook.cloud': {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'octaviadeployments.yaook.cloud' },
          spec: {
            group: 'yaook.cloud',
            names: { kind: 'OctaviaDeployment', plural: 'octaviadeployments' },
            versions: [{ name: 'v1', served: true, storage: true }],
          },
        },
        'OctaviaDeployment/yaook/octavia': {
          apiVersion: 'yaook.cloud/v1',
          kind: 'OctaviaDeployment',
          metadata: { name: 'octavia', namespace: 'yaook' },
          spec: {},
        },
      }
    : {};
  await writeFile(
    join(state(), 'objects.json'),
    JSON.stringify({
      ...orcCrdObject(),
      'Namespace/default/garden': {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'garden' },
      },
      'Namespace/default/yaook': {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'yaook' },
      },
      [`Secret/garden/${cluster}-cloud-config`]: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${cluster}-cloud-config`, namespace: 'garden' },
        data: { 'clouds.yaml': b64(clouds), cacert: b64(CA) },
      },
      ...keystoneSecrets(ADMIN_PASSWORD, CA),
      ...octaviaObjects,
    }),
  );
  await writeCapiProviders(state());
  await writeFile(
    join(state(), 'openstack.json'),
    JSON.stringify({
      credentials: { [CREDENTIAL.id]: { name: `capi-${cluster}`, secret: CREDENTIAL.secret } },
      // What ustack.provider-network and ugarden.openstack-objects leave for the cluster.
      ...gardenObjectsState(docs(rendered.cluster)),
    }),
  );
}

/** lib.sh's environment: the host's env file, with the test's bundle. */
async function ustartRoot(): Promise<string> {
  const ustart = join(dir, 'ustart');
  await mkdir(join(ustart, 'hosts', 'ctl-01'), { recursive: true });
  const sample = await readFile(join(defaultRunbookDir(), 'scripts', 'env.sample'), 'utf8');
  await writeFile(
    join(ustart, 'hosts', 'ctl-01', 'env'),
    sample
      .replace(/^USTART_BUNDLE_DIR=.*$/m, `USTART_BUNDLE_DIR=${join(dir, 'bundle')}`)
      .replace(/^USTART_DOMAIN=.*$/m, `USTART_DOMAIN=${plan.site.domain}`)
      .replace(/^USTART_GARDEN_CLUSTER=.*$/m, `USTART_GARDEN_CLUSTER=${cluster}`)
      .replace(/^USTART_OPENSTACK_REGION=.*$/m, `USTART_OPENSTACK_REGION=${plan.openstack.region}`),
  );
  for (const line of rendered.addons.trim().split('\n')) {
    const [kind, , , file] = line.split('\t');
    if (kind !== 'configmap') continue;
    await mkdir(join(dir, 'bundle', file!, '..'), { recursive: true });
    await writeFile(join(dir, 'bundle', file!), standIn(file!));
  }
  return ustart;
}

/** Runs lib.sh functions as a step script would. */
async function libSh(line: string) {
  return sh(`. ${lib}; ${line}`, { USTART_ROOT: await ustartRoot() });
}

/** The addons' ConfigMaps as the repository step builds them from `list`. */
async function addonConfigMaps(list = rendered.addons): Promise<string> {
  const tsv = join(dir, 'addons.tsv');
  await writeFile(tsv, list);
  const out = join(dir, 'addons.yaml');
  const r = await libSh(`addon_configmaps ${out} ${tsv}`);
  expect(r.stderr).toBe('');
  return readFile(out, 'utf8');
}

const docs = (text: string): Doc[] => parseAllDocuments(text).map((d) => d.toJS() as Doc);
/** The cluster file as ugarden.repository commits it: the API's floating IP written in. */
const yamlOf = (list: Doc[]) =>
  list
    .map((d) => `---\n${stringify(d)}`)
    .join('')
    .replaceAll(GARDEN_API_ADDRESS_PLACEHOLDER, GARDEN_TEST_API_ADDRESS);

/** Applies as Flux does (garden), with the cloud provider's Secret as capi.sh makes it. */
async function deliver(
  clusterDocs: Doc[],
  opts: { addons?: string; cloudConf?: boolean } = {},
): Promise<string> {
  const file = await put('/repo/cluster.yaml', yamlOf(clusterDocs));
  const applied = sh(`kubectl apply -n garden -f ${file}`);
  expect(applied.stderr).toBe('');
  const addons = opts.addons ?? (await addonConfigMaps());
  if (addons) {
    const path = await put('/repo/addons.yaml', addons);
    expect(sh(`kubectl apply -n garden -f ${path}`).stderr).toBe('');
  }
  if (opts.cloudConf !== false) {
    const made = await libSh('ensure_cloud_conf_secret');
    expect(made.stderr).toBe('');
  }
  return reason();
}

function reason(): string {
  const r = sh(
    `kubectl -n garden get cluster ${cluster} -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}'`,
  );
  expect(r.stderr).toBe('');
  return r.stdout;
}

const byKind = (list: Doc[], kind: string) => list.find((d) => d.kind === kind)!;

/** The render as it was before issue 14's defects 4 and 6, from the render as it is. */
function asItWas(list: Doc[]): Doc[] {
  const old = structuredClone(list).filter((d) => d.kind !== 'ClusterResourceSet');
  delete byKind(old, 'Cluster').metadata.labels;
  const infra = byKind(old, 'OpenStackCluster');
  delete infra.spec.managedSecurityGroups;
  asItWasEndpoint(old);
  const kcp = byKind(old, 'KubeadmControlPlane').spec.kubeadmConfigSpec;
  kcp.clusterConfiguration = { imageRepository: kcp.clusterConfiguration.imageRepository };
  for (const c of [kcp.initConfiguration, kcp.joinConfiguration])
    c.nodeRegistration = { name: '{{ local_hostname }}' };
  byKind(old, 'KubeadmConfigTemplate').spec.template.spec.joinConfiguration.nodeRegistration = {
    name: '{{ local_hostname }}',
  };
  return old;
}

/**
 * The endpoint as it was before issue 14's defect 6: CAPO's own network and floating IP, no
 * load balancer, no kube-vip.
 */
function asItWasEndpoint(list: Doc[]): Doc[] {
  const infra = byKind(list, 'OpenStackCluster').spec;
  for (const k of ['network', 'subnets', 'controlPlaneEndpoint', 'disableAPIServerFloatingIP'])
    delete infra[k];
  infra.managedSubnets = [{ cidr: '10.6.0.0/24', dnsNameservers: plan.site.dns }];
  infra.apiServerLoadBalancer = { enabled: false };
  const kcp = byKind(list, 'KubeadmControlPlane').spec.kubeadmConfigSpec;
  for (const k of ['files', 'preKubeadmCommands', 'postKubeadmCommands']) delete kcp[k];
  delete kcp.clusterConfiguration.apiServer.certSANs;
  for (const t of list.filter((d) => d.kind === 'OpenStackMachineTemplate'))
    delete t.spec.template.spec.ports;
  return list;
}

/** The first control-plane VM fails (the double's fault injection). */
async function failFirstControlPlaneVm() {
  await writeFile(join(state(), 'faults.json'), JSON.stringify({ firstControlPlaneFailed: true }));
}

// Every kubectl, helm, clusterctl and openstack call starts a double's process (Node and its
// loader): a test makes dozens, which on a loaded two-core machine takes more than the default.
const DOUBLE_PROCESSES = { timeout: 120_000 };

describe(
  'the workload cluster against Cluster API and CAPO (issue 14, D5–D7)',
  DOUBLE_PROCESSES,
  () => {
    let now: Doc[];
    beforeEach(async () => {
      now = docs(rendered.cluster);
      await seed();
    });

    it('as it was (no security groups, no cloud provider, no provider id, no CNI) is never Ready', async () => {
      const why = await deliver(asItWas(now), { addons: '', cloudConf: false });
      expect(why).toContain('no managedSecurityGroups');
      expect(why).toContain('cannot reach the API server on 6443');
    });

    it('as it is becomes Ready', async () => {
      expect(await deliver(now)).toBe('Ready');
      const phase = sh(`kubectl -n garden get cluster ${cluster} -o jsonpath='{.status.phase}'`);
      expect(phase.stdout).toBe('Provisioned');
    });

    it('D5: without managedSecurityGroups Cluster API cannot reach the API server', async () => {
      delete byKind(now, 'OpenStackCluster').spec.managedSecurityGroups;
      expect(await deliver(now)).toContain('no managedSecurityGroups');
    });

    it('D6: as it was, the API is gone with the first control-plane VM (CAPO does not move its floating IP)', async () => {
      expect(await deliver(asItWasEndpoint(now))).toBe('Ready');
      await failFirstControlPlaneVm();
      expect(reason()).toContain('CAPO does not move it to another control-plane VM');
    });

    it('D6: as it is, the API outlives the first control-plane VM (kube-vip moves the VIP behind the floating IP)', async () => {
      expect(await deliver(now)).toBe('Ready');
      await failFirstControlPlaneVm();
      expect(reason()).toBe('Ready');
    });

    it('D6: the VIP needs an allowed address pair on the control-plane ports', async () => {
      const cp = now.find(
        (d) =>
          d.metadata.name === `${cluster}-control-plane` && d.kind === 'OpenStackMachineTemplate',
      )!;
      delete cp.spec.template.spec.ports;
      expect(await deliver(now)).toContain("Neutron's port security drops");
    });

    it('D6: the VIP needs kube-vip on the control-plane machines, with super-admin.conf only at kubeadm init', async () => {
      const spec = byKind(now, 'KubeadmControlPlane').spec.kubeadmConfigSpec;
      const files = spec.files;
      delete spec.files;
      expect(await deliver(now)).toContain('no kube-vip static Pod');
      spec.files = files;
      const pre = spec.preKubeadmCommands;
      delete spec.preKubeadmCommands;
      expect(await deliver(now)).toContain(
        'kube-vip on the machine that runs kubeadm init mounts /etc/kubernetes/admin.conf',
      );
      spec.preKubeadmCommands = [
        pre[0].replaceAll('/run/kubeadm/kubeadm.yaml', '/etc/kubernetes/manifests/kube-vip.yaml'),
      ];
      expect(await deliver(now)).toContain(
        'kube-vip on joining control-plane machines mounts /etc/kubernetes/super-admin.conf',
      );
    });

    it('D6: the endpoint must be the floating IP of the VIP, written in before the commit', async () => {
      const infra = byKind(now, 'OpenStackCluster').spec;
      infra.controlPlaneEndpoint.host = '192.0.2.99';
      expect(await deliver(now)).toContain('is no floating IP in uStack');
      infra.controlPlaneEndpoint.host = GARDEN_API_ADDRESS_PLACEHOLDER;
      const raw = await put('/repo/raw.yaml', now.map((d) => `---\n${stringify(d)}`).join(''));
      expect(sh(`kubectl apply -n garden -f ${raw}`).stderr).toBe('');
      expect(reason()).toContain(
        `the control-plane endpoint ${GARDEN_API_ADDRESS_PLACEHOLDER} is not an address`,
      );
    });

    it('D6: CAPO does not find the network when ugarden.openstack-objects has not made it', async () => {
      const os = JSON.parse(await readFile(join(state(), 'openstack.json'), 'utf8')) as Doc;
      delete os.network['ustart-garden'];
      await writeFile(join(state(), 'openstack.json'), JSON.stringify(os));
      expect(await deliver(now)).toContain('failed to find network: filter matched no resources');
    });

    it('D6: an Octavia load balancer (OVN provider) instead needs Octavia, which uStack lacks', async () => {
      expect(byKind(now, 'OpenStackCluster').spec.apiServerLoadBalancer).toEqual({
        enabled: false,
      });
      byKind(now, 'OpenStackCluster').spec.apiServerLoadBalancer = {
        enabled: true,
        provider: 'ovn',
      };
      expect(await deliver(now)).toContain('uStack has no Octavia');
      await seed(true);
      expect(await deliver(now)).toBe('Ready');
    });

    it('D7: without provider id and cloud provider no Machine gets a nodeRef', async () => {
      const old = asItWas(now);
      // Security groups and load balancer as now: the next reason is the Nodes'.
      byKind(old, 'OpenStackCluster').spec = byKind(now, 'OpenStackCluster').spec;
      const endpoint = ['files', 'preKubeadmCommands', 'postKubeadmCommands'] as const;
      const kcpNow = byKind(now, 'KubeadmControlPlane').spec.kubeadmConfigSpec;
      for (const k of endpoint)
        byKind(old, 'KubeadmControlPlane').spec.kubeadmConfigSpec[k] = kcpNow[k];
      const templates = now.filter((d) => d.kind === 'OpenStackMachineTemplate');
      old.splice(
        0,
        old.length,
        ...old.filter((d) => d.kind !== 'OpenStackMachineTemplate'),
        ...templates,
      );
      byKind(old, 'Cluster').metadata.labels = byKind(now, 'Cluster').metadata.labels;
      old.push(...now.filter((d) => d.kind === 'ClusterResourceSet'));
      const why = await deliver(old);
      expect(why).toContain('Node gets no providerID');
      expect(why).toContain('Machine.status.nodeRef not set');
    });

    it('D7: cloud-provider external without the CCM leaves the Nodes uninitialized', async () => {
      const labels = byKind(now, 'Cluster').metadata.labels as Record<string, string>;
      delete labels['addons.ustart.io/ccm'];
      const why = await deliver(now);
      expect(why).toContain('no OpenStack cloud controller manager');
      expect(why).toContain('node.cloudprovider.kubernetes.io/uninitialized');
    });

    it('D7: the CCM without its cloud-config Secret never starts', async () => {
      const why = await deliver(now, { cloudConf: false });
      expect(why).toContain('no Secret kube-system/cloud-config');
    });

    it('D7: a resource-set Secret of another type is not applied', async () => {
      await deliver(now);
      const secret = `${cluster}-cloud-conf`;
      const got = sh(`kubectl -n garden get secret ${secret} -o json`);
      const o = JSON.parse(got.stdout) as Doc;
      const file = await put(
        '/repo/opaque.json',
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secret, namespace: 'garden' },
          type: 'Opaque',
          data: o.data,
        }),
      );
      expect(sh(`kubectl delete -n garden secret ${secret}`).status).toBe(0);
      expect(sh(`kubectl apply -f ${file}`).stderr).toBe('');
      expect(reason()).toContain('no Secret kube-system/cloud-config');
    });

    it('D7: without a CNI the Nodes stay NotReady', async () => {
      const labels = byKind(now, 'Cluster').metadata.labels as Record<string, string>;
      delete labels['addons.ustart.io/cni'];
      expect(await deliver(now)).toContain('no CNI is applied');
    });

    it('the cloud.conf holds CAPO application credential and the site CA, never the admin password', async () => {
      await deliver(now);
      const outer = JSON.parse(
        sh(`kubectl -n garden get secret ${cloudConfSecret(cluster)} -o json`).stdout,
      ) as Doc;
      expect(outer.type).toBe('addons.cluster.x-k8s.io/resource-set');
      const inner = parse(
        Buffer.from(outer.data['cloud-config.yaml'], 'base64').toString('utf8'),
      ) as Doc;
      expect(inner.metadata).toEqual({ name: 'cloud-config', namespace: 'kube-system' });
      const conf = Buffer.from(inner.data['cloud.conf'], 'base64').toString('utf8');
      expect(conf).toContain(`application-credential-id=${CREDENTIAL.id}`);
      expect(conf).toContain(`auth-url=https://keystone.${plan.site.domain}/v3`);
      expect(conf).toContain('ca-file=/etc/config/ca.crt');
      expect(conf).not.toContain(ADMIN_PASSWORD);
      expect(Buffer.from(inner.data['ca.crt'], 'base64').toString('utf8')).toBe(CA);
    });

    it('a cloud.conf with a credential uStack does not know, or without the CA, is refused', async () => {
      const cloudConf = async (conf: string) => {
        const inner = stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'cloud-config', namespace: 'kube-system' },
          data: { 'cloud.conf': b64(conf), 'ca.crt': b64(CA) },
        });
        const file = await put(
          '/repo/cloud-conf.json',
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: cloudConfSecret(cluster), namespace: 'garden' },
            type: 'addons.cluster.x-k8s.io/resource-set',
            data: { 'cloud-config.yaml': b64(inner) },
          }),
        );
        expect(sh(`kubectl apply -f ${file}`).stderr).toBe('');
        return reason();
      };
      await deliver(now, { cloudConf: false });
      const url = `auth-url=https://keystone.${plan.site.domain}/v3`;
      const good = `[Global]\n${url}\napplication-credential-id=${CREDENTIAL.id}\napplication-credential-secret=${CREDENTIAL.secret}\n`;
      expect(await cloudConf(`${good}ca-file=/etc/config/ca.crt\n`)).toBe('Ready');
      expect(await cloudConf(good)).toContain('x509: certificate signed by unknown authority');
      expect(
        await cloudConf(good.replace(CREDENTIAL.secret, 'wrong') + 'ca-file=/etc/config/ca.crt\n'),
      ).toContain('no application credential uStack knows');
      expect(
        await cloudConf(
          `[Global]\n${url}\nusername=yaook-sys-maint\npassword=${ADMIN_PASSWORD}\nca-file=/etc/config/ca.crt\n`,
        ),
      ).toContain('no application credential uStack knows');
    });

    it('ClusterResourceSet needs the core provider and a selector', async () => {
      await writeFile(join(state(), 'clusterctl.json'), JSON.stringify({ providers: [] }));
      const crs = now.find((d) => d.kind === 'ClusterResourceSet')!;
      const file = await put('/repo/crs.yaml', stringify(crs));
      expect(sh(`kubectl apply -n garden -f ${file}`).stderr).toContain(
        'no matches for kind "ClusterResourceSet"',
      );
      await seed();
      crs.spec.clusterSelector = {};
      await put('/repo/crs.yaml', stringify(crs));
      expect(sh(`kubectl apply -n garden -f ${file}`).stderr).toContain(
        'the selector must not be empty',
      );
    });

    it('renders the kubelet, API server and controller manager for an external cloud provider', () => {
      const kcp = byKind(now, 'KubeadmControlPlane').spec.kubeadmConfigSpec;
      const worker = byKind(now, 'KubeadmConfigTemplate').spec.template.spec;
      for (const reg of [
        kcp.initConfiguration.nodeRegistration,
        kcp.joinConfiguration.nodeRegistration,
        worker.joinConfiguration.nodeRegistration,
      ])
        expect(reg.kubeletExtraArgs).toEqual({
          'cloud-provider': 'external',
          'provider-id': "openstack:///'{{ instance_id }}'",
        });
      expect(kcp.clusterConfiguration.apiServer.extraArgs['cloud-provider']).toBe('external');
      expect(kcp.clusterConfiguration.controllerManager.extraArgs['cloud-provider']).toBe(
        'external',
      );
      const sets = now.filter((d) => d.kind === 'ClusterResourceSet');
      expect(sets.map((s) => s.metadata.name)).toEqual(
        WORKLOAD_ADDONS.map((a) => `${cluster}-${a.name}`),
      );
    });
  },
);

describe('air-gapped addons', { timeout: 120_000 }, () => {
  it('keep the upstream image names, each one in the bill of materials', async () => {
    const gapped = await render(true);
    expect(gapped.addons).not.toMatch(/^registry\t/m);
    await seed();
    const text = await addonConfigMaps(gapped.addons);
    const images = [...text.matchAll(/image:\s*(\S+)/g)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThanOrEqual(3);
    expect(images).toContain(`docker.io/calico/node:${CALICO_VERSION}`);
    expect(imagesOutsideBom([{ path: 'addons.yaml', content: text }])).toEqual([]);
    const maps = docs(text);
    expect(maps.map((m) => m.metadata.name)).toEqual(
      WORKLOAD_ADDONS.map((a) => `${workloadClusterName({ plan } as never)}-${a.name}`),
    );
  }, 60_000);
});
