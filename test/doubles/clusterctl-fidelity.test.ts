/**
 * uGarden's clusterctl step against the doubles as clusterctl v1.9.5, CAPO v0.12.2 and ORC
 * behave (docs/upstream-facts.md, issue 14 D1–D4, D13(a), D14): the render as it was is
 * refused for the reason the real tool gives, and the render as it is now passes. The
 * bundle's files are seeded from `bundleFiles()`, the one description of the layout.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import {
  bundleFiles,
  CAPI_PROVIDERS,
  CAPI_VERSION,
  CAPO_VERSION,
  ORC_CRD,
  ORC_INSTALL,
} from '../../src/render/generators/capi-repository.js';
import { Renderer } from '../../src/render/render.js';
import { loadSiteRunbook } from '../../src/render/step-specs.js';
import { renderFiles } from '../../src/render/write.js';
import { assetPath } from '../../src/util/assets.js';
import { doublesFolder } from './harness.js';

const BUNDLE = '/var/lib/ustart/bundle/files';
const INIT =
  'clusterctl init --config /clusterctl.yaml --core cluster-api --bootstrap kubeadm --control-plane kubeadm --infrastructure openstack --wait-providers';

let plan: Plan;
let config: string;
let dir: string;
const { state, put, sh } = doublesFolder(() => dir);

beforeAll(async () => {
  const demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  plan = { ...demo, site: { ...demo.site, airGapped: true } };
  const files = renderFiles(await Renderer.create(plan, await loadSiteRunbook()));
  const f = files.find((r) =>
    r.path.endsWith('/ugarden.capi/files/etc/ustart/garden/clusterctl.yaml'),
  );
  config = f!.content.toString();
}, 60_000);
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-clusterctl-fidelity-'));
  await mkdir(state());
  await put('/etc/kubernetes/admin.conf', 'apiVersion: v1\nkind: Config\n');
  const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await writeFile(
    join(state(), 'objects.json'),
    JSON.stringify({ 'Namespace/default/cert-manager': ns('cert-manager') }),
  );
  await writeFile(
    join(state(), 'helm.json'),
    JSON.stringify({ 'cert-manager/cert-manager': { chart: 'cert-manager-v1.16.2.tgz' } }),
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A release's metadata.yaml: the series up to the version's, all v1beta1. */
function metadata(version: string, apiVersion = 'clusterctl.cluster.x-k8s.io/v1alpha3') {
  const [major, minor] = version.slice(1).split('.').map(Number);
  const releaseSeries = Array.from({ length: minor! + 1 }, (_, m) => ({
    major,
    minor: m,
    contract: 'v1beta1',
  }));
  return stringify({ apiVersion, kind: 'Metadata', releaseSeries });
}

/** Components with the provider's controller Deployment, named as the release names it. */
function components(upstream: string) {
  return stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'controller-manager', namespace: 'x-system' },
    spec: { template: { spec: { containers: [{ name: 'manager', image: upstream }] } } },
  });
}

/** The bundle as bundleFiles() names it; `skip` leaves files out. */
async function seedBundle(skip: (name: string) => boolean = () => false) {
  for (const { name } of bundleFiles()) {
    if (skip(name)) continue;
    const p = CAPI_PROVIDERS.find((x) => name.includes(`/${x.version}/${x.components}`));
    const text = name.endsWith('metadata.yaml')
      ? metadata(name.includes('infrastructure-') ? CAPO_VERSION : CAPI_VERSION)
      : name.startsWith('orc/')
        ? orcInstall()
        : components(p!.image);
    await put(`${BUNDLE}/${name}`, text);
  }
}

/** ORC's install.yaml, reduced to what CAPO needs of it: its namespace, CRD and controller. */
function orcInstall() {
  const [plural, ...group] = ORC_CRD.split('.');
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'orc-system' } },
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: ORC_CRD },
      spec: {
        group: group.join('.'),
        names: { kind: 'Image', plural },
        scope: 'Namespaced',
        versions: [{ name: 'v1alpha1', served: true, storage: true }],
      },
    },
  ]
    .map((d) => stringify(d))
    .join('---\n');
}

/** clusterctl.yaml as uStart rendered it before issue 14. */
const OLD_CONFIG = stringify({
  providers: [
    ['cluster-api', 'CoreProvider', CAPI_VERSION, 'core-components.yaml'],
    ['kubeadm', 'BootstrapProvider', CAPI_VERSION, 'bootstrap-components.yaml'],
    ['kubeadm', 'ControlPlaneProvider', CAPI_VERSION, 'control-plane-components.yaml'],
    ['openstack', 'InfrastructureProvider', CAPO_VERSION, 'infrastructure-components.yaml'],
  ].map(([name, type, version, file]) => ({
    name,
    type,
    url: `file://${BUNDLE}/capi/${name}/${version}/${file}`,
  })),
  images: { all: { repository: 'bundle.ustart.invalid' } },
  CLUSTERCTL_DISABLE_VERSIONCHECK: 'true',
});

const init = async (text: string) => {
  await put('/clusterctl.yaml', text);
  return sh(INIT.replace('/clusterctl.yaml', join(dir, 'root', 'clusterctl.yaml')));
};
const installOrc = () => sh(`kubectl apply -f ${join(dir, 'root', ORC_INSTALL)}`);

describe(
  'clusterctl init from the bundle as clusterctl v1.9.5 reads a local repository',
  { timeout: 120_000 },
  () => {
    it('D1: folders named by provider name are refused; by provider label they are read', async () => {
      // The old layout, complete with metadata, so only the folder names are wrong.
      for (const [folder, v, file] of [
        ['cluster-api', CAPI_VERSION, 'core-components.yaml'],
        ['kubeadm', CAPI_VERSION, 'bootstrap-components.yaml'],
        ['kubeadm', CAPI_VERSION, 'control-plane-components.yaml'],
        ['openstack', CAPO_VERSION, 'infrastructure-components.yaml'],
      ] as const) {
        await put(`${BUNDLE}/capi/${folder}/${v}/${file}`, components('registry.k8s.io/a/b:v1'));
        await put(`${BUNDLE}/capi/${folder}/${v}/metadata.yaml`, metadata(v));
      }
      expect((await init(OLD_CONFIG)).stderr).toContain(
        `must contain provider "bootstrap-kubeadm" in the format {basepath}/{provider-label}/{version}/{components.yaml}`,
      );
      await seedBundle();
      expect(installOrc().stderr).toBe('');
      const ok = await init(config);
      expect(ok.stderr).toBe('');
      const installed = JSON.parse(await readFile(join(state(), 'clusterctl.json'), 'utf8')) as {
        providers: Array<{ label: string; version: string }>;
      };
      expect(installed.providers.map((p) => `${p.label}@${p.version}`)).toEqual([
        `cluster-api@${CAPI_VERSION}`,
        `bootstrap-kubeadm@${CAPI_VERSION}`,
        `control-plane-kubeadm@${CAPI_VERSION}`,
        `infrastructure-openstack@${CAPO_VERSION}`,
      ]);
    });

    it('D2: a version folder without a metadata.yaml, or one whose series miss the version, is refused', async () => {
      await seedBundle((n) => n.endsWith('metadata.yaml'));
      expect(installOrc().stderr).toBe('');
      expect((await init(config)).stderr).toContain(
        'failed to read "metadata.yaml" from the repository for provider "cluster-api"',
      );
      await seedBundle();
      const capo = `${BUNDLE}/capi/infrastructure-openstack/${CAPO_VERSION}/metadata.yaml`;
      await put(capo, metadata('v0.11.0'));
      expect((await init(config)).stderr).toContain(
        `version ${CAPO_VERSION} for the provider infrastructure-openstack does not match any release series`,
      );
      await put(capo, metadata(CAPO_VERSION, 'v1'));
      expect((await init(config)).stderr).toContain('error decoding "metadata.yaml"');
      await put(capo, metadata(CAPO_VERSION));
      expect((await init(config)).stderr).toBe('');
    });

    it('D3: images.all.repository drops the path; without an override the providers keep their upstream images', async () => {
      await seedBundle();
      expect(installOrc().stderr).toBe('');
      const images = async (text: string) => {
        await rm(join(state(), 'clusterctl.json'), { force: true });
        await init(text);
        const calls = (await readFile(join(state(), 'calls.jsonl'), 'utf8')).trim().split('\n');
        return (JSON.parse(calls.at(-1)!) as { seen: { images: string[] } }).seen.images;
      };
      // What the site registry serves: the upstream names (docs/bundle-format.md).
      const upstream = CAPI_PROVIDERS.map((p) => p.image);
      const old = await images(
        stringify({ ...parse(config), images: { all: { repository: 'bundle.ustart.invalid' } } }),
      );
      expect(old).toContain(`bundle.ustart.invalid/cluster-api-controller:${CAPI_VERSION}`);
      expect(old.filter((i) => upstream.includes(i))).toEqual([]);
      expect(parse(config)).not.toHaveProperty('images');
      expect(await images(config)).toEqual(upstream);
    });

    it('D4: CAPO never becomes Available without ORC; with ORC from the bundle it does', async () => {
      await seedBundle();
      const r = await init(config);
      expect(r.stderr).toContain('deployment "capo-controller-manager" is not ready after 5m0s');
      expect(r.stderr).toContain(
        'no matches for kind "Image" in version "openstack.k-orc.cloud/v1alpha1"',
      );
      expect(installOrc().stderr).toBe('');
      expect((await init(config)).stderr).toBe('');
    });
  },
);

describe('the rest of uGarden as Cluster API and Flux behave', { timeout: 120_000 }, () => {
  it('D13(a): clusterctl get kubeconfig answers once the Secret exists, before Ready', async () => {
    await seedBundle();
    expect(installOrc().stderr).toBe('');
    expect((await init(config)).stderr).toBe('');
    const get = () => sh('clusterctl get kubeconfig w -n garden');
    expect(get().stderr).toContain('"w-kubeconfig" not found in namespace "garden"');
    const objects = JSON.parse(await readFile(join(state(), 'objects.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const o = (apiVersion: string, kind: string, name: string, spec: unknown, data?: unknown) =>
      (objects[`${kind}/garden/${name}`] = {
        apiVersion,
        kind,
        metadata: { name, namespace: 'garden' },
        spec,
        data,
      });
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const ca = '-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n';
    o('cluster.x-k8s.io/v1beta1', 'Cluster', 'w', {
      infrastructureRef: { name: 'w' },
      controlPlaneRef: { name: 'w-cp' },
    });
    o('infrastructure.cluster.x-k8s.io/v1beta1', 'OpenStackCluster', 'w', {
      identityRef: { name: 'w-cloud', cloudName: 'ustack' },
    });
    // Its machine template is missing: the cluster cannot become Ready.
    o('controlplane.cluster.x-k8s.io/v1beta1', 'KubeadmControlPlane', 'w-cp', {
      machineTemplate: { infrastructureRef: { name: 'missing' } },
    });
    const clouds = stringify({
      clouds: {
        ustack: { auth: { application_credential_id: 'i', application_credential_secret: 's' } },
      },
    });
    o('v1', 'Secret', 'w-cloud', undefined, { 'clouds.yaml': b64(clouds), cacert: b64(ca) });
    objects['Secret/yaook/root-ca'] = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'root-ca', namespace: 'yaook' },
      data: { 'tls.crt': b64(ca) },
    };
    await writeFile(join(state(), 'objects.json'), JSON.stringify(objects));
    await writeFile(
      join(state(), 'openstack.json'),
      JSON.stringify({ credentials: { i: { name: 'capi-w', secret: 's' } } }),
    );
    expect(sh("kubectl -n garden get cluster w -o jsonpath='{.status.phase}'").stdout).toBe(
      'Provisioning',
    );
    expect(get().stderr).toBe('');
    expect(get().stdout).toContain('kind: Config');
  });

  it('D14: Flux is installed only after Cluster API, whose CRDs and namespace it applies into', async () => {
    const flux = (await loadSiteRunbook()).byId.get('ugarden.flux');
    expect(flux?.after).toContain('ugarden.capi');
  });
});
