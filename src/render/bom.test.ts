/**
 * The bill of materials (assets/runbook/bom.yaml) against the render it pins: it parses, each
 * pin names the ledger rows it was read from, the versions inside it agree, and every image a
 * rendered file names (air-gapped or not) is in it, so an air-gapped bundle built from it
 * holds what the site pulls (issue 15, items 1 and 4).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { KUBEADM_IMAGES } from '../../test/support/kubeadm-images.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import { bomFetchSpecs } from '../bundle/bom-artifacts.js';
import { bom, bomImage, imagesOutsideBom, readBom, type Bom } from './bom.js';
import { MIRRORED_REGISTRIES } from './generators/site-registry.js';
import { Renderer } from './render.js';
import { loadSiteRunbook } from './step-specs.js';
import { renderFiles } from './write.js';

let dir: string;
let demo: Plan;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-bom-'));
  demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function rendered(airGapped: boolean) {
  const plan = { ...demo, site: { ...demo.site, airGapped } };
  return renderFiles(await Renderer.create(plan, await loadSiteRunbook()));
}

const tag = (ref: string) => ref.split(':').at(-1)!;

describe('the bill of materials', () => {
  it('parses, and every pin names rows of docs/upstream-facts.md', async () => {
    const b = bom();
    const ledger = await readFile(join(assetPath('..'), 'docs', 'upstream-facts.md'), 'utf8');
    const ids = new Set([...ledger.matchAll(/^\| ([a-z0-9][\w.-]*) \|/gm)].map((m) => m[1]!));
    const entries = [
      ...Object.values(b.images),
      ...Object.values(b.charts),
      ...Object.values(b.files),
      ...Object.values(b.binaries),
    ];
    const unknown = entries.flatMap((e) => e.facts).filter((f) => !ids.has(f));
    expect(unknown).toEqual([]);
    expect(Object.keys(b.images).length).toBeGreaterThanOrEqual(20);
  });

  it('agrees with itself: images, charts and files of one release carry one version', () => {
    const b = bom();
    expect(tag(b.images['capi-core']!.ref)).toBe(b.files.capi!.version);
    expect(tag(b.images['capi-bootstrap-kubeadm']!.ref)).toBe(b.files.capi!.version);
    expect(tag(b.images['capi-control-plane-kubeadm']!.ref)).toBe(b.files.capi!.version);
    expect(tag(b.images.capo!.ref)).toBe(b.files.capo!.version);
    expect(tag(b.images['calico-node']!.ref)).toBe(b.files.calico!.version);
    expect(tag(b.images['openstack-cloud-controller-manager']!.ref)).toBe(
      b.files['cloud-provider-openstack']!.version,
    );
    expect(tag(b.images['cinder-csi-plugin']!.ref)).toBe(
      b.files['cloud-provider-openstack']!.version,
    );
    expect(tag(b.images['rook-ceph']!.ref)).toBe(b.charts['rook-ceph']!.version);
    expect(tag(b.images.cilium!.ref)).toBe(`v${b.charts.cilium!.version}`);
    expect(tag(b.images['cilium-operator']!.ref)).toBe(`v${b.charts.cilium!.version}`);
    expect(b.files['node-image']!.url).toContain(b.files['node-image']!.version);
    // kubeadm, kubelet and kubectl are the control plane's release; clusterctl is CAPI's.
    for (const tool of ['kubeadm', 'kubelet', 'kubectl'])
      expect(b.binaries[tool]!.version).toBe(tag(b.images['kube-apiserver']!.ref));
    expect(b.binaries.clusterctl!.version).toBe(b.files.capi!.version);
    for (const [name, bin] of Object.entries(b.binaries)) {
      expect(bin.url, name).toContain(bin.version);
      expect(bin.url, name).toContain('{arch}');
    }
    expect(b.files['kubelet-service']!.version).toBe(b.files['kubeadm-drop-in']!.version);
  });

  it('gives each binary per architecture, and the kubelet units where kubernetes-packages.sh reads them', () => {
    const amd64 = bomFetchSpecs(bom(), 'amd64');
    const arm64 = bomFetchSpecs(bom(), 'arm64');
    expect(amd64.binaries.map((x) => x.path).sort()).toEqual([
      'bin/clusterctl',
      'bin/helm',
      'bin/kubeadm',
      'bin/kubectl',
      'bin/kubelet',
    ]);
    expect(amd64.binaries.find((x) => x.name === 'kubeadm')).toEqual({
      name: 'kubeadm',
      kind: 'binary',
      path: 'bin/kubeadm',
      url: 'https://dl.k8s.io/release/v1.31.4/bin/linux/amd64/kubeadm',
      sha256Url: 'https://dl.k8s.io/release/v1.31.4/bin/linux/amd64/kubeadm.sha256',
    });
    expect(arm64.binaries.find((x) => x.name === 'helm')).toMatchObject({
      url: 'https://get.helm.sh/helm-v3.17.0-linux-arm64.tar.gz',
      sha256Url: 'https://get.helm.sh/helm-v3.17.0-linux-arm64.tar.gz.sha256',
      extract: 'linux-arm64/helm',
      path: 'bin/helm',
    });
    // CAPI publishes no checksum file for clusterctl: nothing claims a check.
    expect(arm64.binaries.find((x) => x.name === 'clusterctl')).not.toHaveProperty('sha256Url');
    expect(bomFetchSpecs(bom()).binaries).toEqual([]);
    const paths = amd64.files.map((f) => f.path);
    expect(paths).toContain('files/kubelet/kubelet.service');
    expect(paths).toContain('files/kubelet/10-kubeadm.conf');
    const script = readFileSync(
      assetPath('runbook', 'scripts', 'umetal', 'kubernetes-packages.sh'),
      'utf8',
    );
    for (const unit of ['kubelet.service', '10-kubeadm.conf']) expect(script).toContain(unit);
    expect(script).toContain('$USTART_BUNDLE_DIR/files/kubelet/');
  });

  it('pins a binary per architecture, and skips one upstream does not ship for it', () => {
    const b: Bom = structuredClone(bom());
    b.binaries.kubectl!.sha256 = { arm64: 'a'.repeat(64) };
    b.binaries.clusterctl!.architectures = ['amd64'];
    const arm64 = bomFetchSpecs(b, 'arm64');
    expect(arm64.binaries.find((x) => x.name === 'kubectl')!.sha256).toBe('a'.repeat(64));
    expect(bomFetchSpecs(b, 'amd64').binaries.find((x) => x.name === 'kubectl')).not.toHaveProperty(
      'sha256',
    );
    expect(arm64.binaries.map((x) => x.name)).not.toContain('clusterctl');
    expect(arm64.skipped).toContainEqual({
      kind: 'binary',
      name: 'clusterctl',
      reason: 'upstream ships it for amd64 only, not arm64',
    });
  });

  it('holds the images kubeadm pulls for the control plane it pins (they are in no manifest)', () => {
    const refs = new Set(Object.values(bom().images).map((i) => i.ref));
    expect(KUBEADM_IMAGES.filter((i) => !refs.has(i))).toEqual([]);
    expect(refs.has(bomImage('pause'))).toBe(true);
  });

  it.each([true, false])(
    'holds every image the rendered files name (air-gapped: %s)',
    async (airGapped) => {
      const files = await rendered(airGapped);
      expect(imagesOutsideBom(files)).toEqual([]);
    },
  );

  it('names the file and the image that a smaller bill of materials lacks', async () => {
    const files = await rendered(true);
    const smaller: Bom = structuredClone(bom());
    delete smaller.images['kube-vip'];
    delete smaller.images['rook-ceph'];
    const outside = imagesOutsideBom(files, smaller);
    const images = new Set(outside.map((o) => o.image));
    expect([...images].sort()).toEqual(['docker.io/rook/ceph', 'ghcr.io/kube-vip/kube-vip:v0.8.9']);
    expect(outside.map((o) => o.path)).toContain(
      'ctl-01/umetal.kubeadm-init/files/etc/kubernetes/manifests/kube-vip.yaml',
    );
  });

  it('names only registries every host mirrors to the site registry', () => {
    const outside = Object.entries(bom().images)
      .map(([name, i]) => [name, i.ref.split('/')[0]!] as const)
      .filter(([, registry]) => !(MIRRORED_REGISTRIES as readonly string[]).includes(registry));
    expect(outside, 'add the registry to MIRRORED_REGISTRIES and umetal.containerd').toEqual([]);
  });

  it('refuses a bill of materials with a bad field, naming the file and the field', async () => {
    const text = await readFile(assetPath('runbook', 'bom.yaml'), 'utf8');
    const b = parse(text) as Bom;
    b.images.pause!.ref = 'pause:3.10';
    const file = join(dir, 'bom.yaml');
    await writeFile(file, stringify(b));
    expect(() => readBom(file)).toThrow(`${file}: images.pause.ref: an image is <registry host>`);
    b.images.pause!.ref = 'registry.k8s.io/pause:3.10';
    delete (b as Partial<Bom>).charts;
    await writeFile(file, stringify(b));
    expect(() => readBom(file)).toThrow(`${file}: charts:`);
    const again = parse(text) as Bom;
    again.binaries.helm!.url = 'https://get.helm.sh/helm-v3.17.0-linux-amd64.tar.gz';
    await writeFile(file, stringify(again));
    expect(() => readBom(file)).toThrow(
      `${file}: binaries.helm.url: a binary URL names its architecture with {arch}`,
    );
    again.binaries.helm!.url = 'https://get.helm.sh/helm-v3.17.0-linux-{arch}.tar.gz';
    again.binaries.helm!.sha256 = { amd64: 'not hex' } as never;
    await writeFile(file, stringify(again));
    expect(() => readBom(file)).toThrow(`${file}: binaries.helm.sha256.amd64: a sha256 is 64`);
    // A customer's bill of materials without binaries has none.
    delete (again as Partial<Bom>).binaries;
    await writeFile(file, stringify(again));
    expect(readBom(file).binaries).toEqual({});
  });
});
