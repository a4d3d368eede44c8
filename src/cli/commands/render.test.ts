import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assetPath } from '../../util/assets.js';
import { EXIT, main } from '../main.js';
import { bufferOutput } from '../output.js';

const DEMO = assetPath('samples', 'demo-stuttgart.yaml');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-render-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ustart render', () => {
  it('writes the render of a valid plan and says where', async () => {
    const out = bufferOutput();
    const code = await main(['node', 'ustart', 'render', DEMO, '--out', join(dir, 'r')], out);
    expect(out.err).toBe('');
    expect(code).toBe(EXIT.ok);
    expect(out.out).toMatch(/rendered \d+ steps for 10 hosts into .*\/r \(\d+ files\)/);
    const index = JSON.parse(await readFile(join(dir, 'r', 'index.json'), 'utf8')) as {
      steps: Array<{ id: string; hosts: string[] }>;
    };
    expect(index.steps.find((s) => s.id === 'umetal.kubeadm-init')?.hosts).toEqual(['ctl-01']);
  });

  it('refuses a plan with errors, showing them', async () => {
    const text = (await readFile(DEMO, 'utf8')).replace(
      'controlPlaneVip: 10.10.0.5',
      'controlPlaneVip: 10.10.0.11',
    );
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, text);
    const out = bufferOutput();
    const code = await main(['node', 'ustart', 'render', bad, '--out', join(dir, 'r')], out);
    expect(code).toBe(EXIT.invalid);
    expect(out.err).toContain('fix the plan');
  });
});

describe('ustart render on an air-gapped site', () => {
  it('refuses a render that names an image outside the bill of materials, naming file and image', async () => {
    const plan = join(dir, 'airgap.yaml');
    await writeFile(
      plan,
      (await readFile(DEMO, 'utf8')).replace(/airGapped: false/, 'airGapped: true'),
    );
    // A customer runbook ships a manifest with an image no bundle built from the BOM holds.
    const custom = join(dir, 'custom');
    await mkdir(join(custom, 'files'), { recursive: true });
    await mkdir(join(custom, 'scripts'), { recursive: true });
    await writeFile(
      join(custom, 'files', 'extra.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: { name: extra }\nspec:\n  containers:\n    - name: extra\n      image: docker.io/library/nginx:1.27\n',
    );
    await writeFile(join(custom, 'scripts', 'extra.sh'), '#!/usr/bin/env bash\ntrue\n');
    await writeFile(
      join(custom, 'extra.yaml'),
      [
        'phase: umetal',
        'steps:',
        '  - id: umetal.extra',
        '    title: An extra manifest',
        '    description: A customer step.',
        '    target: first-controller',
        '    after: [umetal.kubeadm-init]',
        '    timeout: 5m',
        "    check: { command: 'false' }",
        '    run: scripts/extra.sh',
        '    files:',
        '      - { path: /etc/extra.yaml, source: files/extra.yaml }',
        '',
      ].join('\n'),
    );
    const out = bufferOutput();
    const args = ['node', 'ustart', 'render', plan, '--out', join(dir, 'r'), '--runbook', custom];
    const code = await main(args, out);
    expect(code).toBe(EXIT.invalid);
    expect(out.err).toContain(
      'ctl-01/umetal.extra/files/etc/extra.yaml: the image docker.io/library/nginx:1.27 is not in the bill of materials',
    );
    expect(out.err).toContain('nothing was written');
    await expect(readFile(join(dir, 'r', 'index.json'))).rejects.toThrow();
    // With the image in the customer runbook's own bill of materials, it renders.
    await writeFile(
      join(custom, 'bom.yaml'),
      'formatVersion: 1\nimages:\n  nginx:\n    ref: docker.io/library/nginx:1.27\n',
    );
    expect(await main(args, bufferOutput())).toBe(EXIT.ok);
    // A registry the site registry does not mirror is refused, naming the entry.
    await writeFile(
      join(custom, 'bom.yaml'),
      'formatVersion: 1\nimages:\n  nginx:\n    ref: docker.io/library/nginx:1.27\n  other:\n    ref: registry.example.com/other:1\n',
    );
    const unmirrored = bufferOutput();
    expect(await main(args, unmirrored)).toBe(EXIT.invalid);
    expect(unmirrored.err).toContain(
      'bill of materials: images.other (registry.example.com/other:1): the site registry mirrors only docker.io',
    );
    // An entry the default bill of materials has is refused: the generators render that one.
    await writeFile(
      join(custom, 'bom.yaml'),
      'formatVersion: 1\nimages:\n  pause:\n    ref: registry.k8s.io/pause:3.9\n',
    );
    const twice = bufferOutput();
    expect(await main(args, twice)).toBe(EXIT.unreadable);
    expect(twice.err).toContain(
      `${join(custom, 'bom.yaml')}: images.pause is already in the default runbook's bill of materials`,
    );
    // The same plan without the extra manifest renders.
    const ok = await main(
      ['node', 'ustart', 'render', plan, '--out', join(dir, 'r')],
      bufferOutput(),
    );
    expect(ok).toBe(EXIT.ok);
  });
});

describe('ustart bom list', () => {
  it('lists every pinned image, chart, file and binary, and says what is not pinned', async () => {
    const out = bufferOutput();
    expect(await main(['node', 'ustart', 'bom', 'list'], out)).toBe(EXIT.ok);
    expect(out.out).toContain('kube-vip  ghcr.io/kube-vip/kube-vip:v0.8.9  not pinned');
    expect(out.out).toContain('gitea  12.0.0  https://dl.gitea.com/charts');
    // Binaries per architecture: what upstream's checksum file checks, and what nothing does.
    expect(out.out).toContain(
      "kubeadm  v1.31.4  https://dl.k8s.io/release/v1.31.4/bin/linux/{arch}/kubeadm\n    amd64  not pinned; checked against upstream's .sha256 file\n    arm64",
    );
    expect(out.out).toMatch(
      /clusterctl {2}v1\.9\.5 .*\n {4}amd64 {2}not pinned\n {4}arm64 {2}not pinned\n/,
    );
    const json = bufferOutput();
    expect(await main(['node', 'ustart', 'bom', 'list', '--json'], json)).toBe(EXIT.ok);
    const b = JSON.parse(json.out) as { images: Record<string, { ref: string }> };
    expect(b.images.pause!.ref).toBe('registry.k8s.io/pause:3.10');
    // A customer runbook's bom.yaml is listed with the default one.
    const custom = join(dir, 'bom-layer');
    await mkdir(custom, { recursive: true });
    await writeFile(
      join(custom, 'bom.yaml'),
      'formatVersion: 1\nimages:\n  nginx:\n    ref: docker.io/library/nginx:1.27\n',
    );
    const layered = bufferOutput();
    expect(await main(['node', 'ustart', 'bom', 'list', '--runbook', custom], layered)).toBe(
      EXIT.ok,
    );
    expect(layered.out).toContain('nginx  docker.io/library/nginx:1.27  not pinned');
    expect(layered.out).toContain('kube-vip  ghcr.io/kube-vip/kube-vip:v0.8.9');
  });
});
