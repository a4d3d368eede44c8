/**
 * The bill of materials (assets/runbook/bom.yaml) against the render it pins: it parses, each
 * pin names the ledger rows it was read from, the versions inside it agree, and every image a
 * rendered file names (air-gapped or not) is in it, so an air-gapped bundle built from it
 * holds what the site pulls (issue 15, items 1 and 4).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { KUBEADM_IMAGES } from '../../test/support/kubeadm-images.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
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
  });
});
