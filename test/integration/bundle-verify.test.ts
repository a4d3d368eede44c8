/**
 * Tampering with a bundle in every way the issue names: each is rejected, with a message
 * naming the entry. Real files in temp folders; real tar archives; real Ed25519 keys.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { appendFile, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildManifest,
  parseManifest,
  requireVerifiedBundle,
  serializeManifest,
  signManifest,
  verifyBundle,
  type BundleProblem,
  type VerifyReport,
} from '../../src/bundle/index.js';
import { writeTar } from '../../src/bundle/tar.js';
import { bufferOutput } from '../../src/cli/output.js';
import { main } from '../../src/cli/main.js';
import { bundleFixture, type BundleFixture } from './bundle-fixture.js';

let fx: BundleFixture;
beforeEach(async () => {
  fx = await bundleFixture();
});
afterEach(async () => {
  await fx.dispose();
});

function kinds(report: VerifyReport): [BundleProblem['kind'], string][] {
  return report.problems.map((p) => [p.kind, p.entry]);
}

async function flipByte(file: string, offset: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[offset] = bytes[offset]! ^ 0xff;
  await writeFile(file, bytes);
}

describe('verifying a bundle folder', () => {
  let out: string;
  beforeEach(async () => {
    out = join(fx.dir, 'bundle');
    await fx.build(out);
  });

  it('accepts the bundle as built, signature first and every entry hashed', async () => {
    const events: string[] = [];
    const report = await verifyBundle(out, fx.publicKey, {
      onEvent: (e) => {
        if (e.type === 'phase-started') events.push(e.phase);
      },
    });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.signatureValid).toBe(true);
    expect(events).toEqual(['verify-signature', 'verify-entries']);
    expect(report.manifest?.entries.map((e) => e.path)).toEqual([
      'bin/kubeadm',
      'charts/charts/cilium-1.16.tgz',
      'charts/charts/rook-ceph-1.15.tgz',
      'files/notes.txt',
      'runbook/runbook.yaml',
    ]);
    expect(report.verifiedBytes).toBe(report.manifest!.entries.reduce((n, e) => n + e.size, 0));
    expect((await stat(join(out, 'bin', 'kubeadm'))).mode & 0o777).toBe(0o755);
  });

  it('rejects a flipped byte, naming the entry', async () => {
    await flipByte(join(out, 'bin', 'kubeadm'), 1_000_000);
    const report = await verifyBundle(out, fx.publicKey);
    expect(kinds(report)).toEqual([['wrong-digest', 'bin/kubeadm']]);
    expect(report.problems[0]!.message).toMatch(
      /^bin\/kubeadm: sha256 is [0-9a-f]{64}, the manifest says/,
    );
  });

  it('rejects a truncated file', async () => {
    await truncate(join(out, 'charts', 'charts', 'cilium-1.16.tgz'), 1000);
    const report = await verifyBundle(out, fx.publicKey);
    expect(kinds(report)).toEqual([['wrong-size', 'charts/charts/cilium-1.16.tgz']]);
    expect(report.problems[0]!.message).toContain('1000 bytes, the manifest says 70000');
  });

  it('rejects a removed file and an added file, both at once', async () => {
    await rm(join(out, 'files', 'notes.txt'));
    await writeFile(join(out, 'bin', 'kubectl'), 'not in the manifest');
    const report = await verifyBundle(out, fx.publicKey);
    expect(kinds(report).sort()).toEqual([
      ['extra', 'bin/kubectl'],
      ['missing', 'files/notes.txt'],
    ]);
  });

  it('rejects a signature made by another key', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const manifestBytes = await readFile(join(out, 'bundle.json'));
    await writeFile(join(out, 'bundle.sig'), signManifest(manifestBytes, other));
    const report = await verifyBundle(out, fx.publicKey);
    expect(report.signatureValid).toBe(false);
    expect(kinds(report)).toEqual([['bad-signature', 'bundle.sig']]);
  });

  it('rejects a manifest changed after signing, and an unsigned bundle', async () => {
    await appendFile(join(out, 'bundle.json'), ' ');
    expect(kinds(await verifyBundle(out, fx.publicKey))).toEqual([['bad-signature', 'bundle.sig']]);
    await rm(join(out, 'bundle.sig'));
    expect(kinds(await verifyBundle(out, fx.publicKey))).toEqual([['unsigned', 'bundle.sig']]);
  });

  it('rejects a re-signed manifest entry with ../ in its path, without reading outside', async () => {
    // A file beside the bundle that a "../" entry would reach; its true digest is listed,
    // so only the path check can catch it.
    const outside = join(fx.dir, 'outside.txt');
    await writeFile(outside, 'secret');
    const manifest = parseManifest(await readFile(join(out, 'bundle.json')), out);
    const forged = buildManifest({
      ...manifest,
      entries: [
        ...manifest.entries,
        {
          path: '../outside.txt',
          kind: 'file',
          size: 6,
          sha256: createHash('sha256').update('secret').digest('hex'),
        },
      ],
    });
    const bytes = serializeManifest(forged);
    await writeFile(join(out, 'bundle.json'), bytes);
    await writeFile(join(out, 'bundle.sig'), signManifest(bytes, fx.privateKey));
    const report = await verifyBundle(out, fx.publicKey);
    expect(report.signatureValid).toBe(true);
    expect(kinds(report)).toEqual([['path-escape', '../outside.txt']]);
    expect(report.problems[0]!.message).toMatch(
      /^\.\.\/outside\.txt: the path contains "\.\."; it escapes the bundle/,
    );
  });

  it('rejects a manifest whose aggregate digest does not match its entries', async () => {
    const manifest = parseManifest(await readFile(join(out, 'bundle.json')), out);
    const text =
      JSON.stringify({ ...manifest, digest: `sha256:${'0'.repeat(64)}` }, null, 2) + '\n';
    await writeFile(join(out, 'bundle.json'), text);
    await writeFile(join(out, 'bundle.sig'), signManifest(Buffer.from(text), fx.privateKey));
    expect(kinds(await verifyBundle(out, fx.publicKey))).toEqual([['bad-manifest', 'bundle.json']]);
  });
});

describe('verifying a bundle archive', () => {
  let tar: string;
  beforeEach(async () => {
    tar = join(fx.dir, 'bundle.tar');
    await fx.build(tar);
  });

  it('accepts the archive as built', async () => {
    const report = await verifyBundle(tar, fx.publicKey);
    expect(report.problems).toEqual([]);
    expect(report.container).toBe('tar');
  });

  it('rejects a flipped byte inside a member, naming it', async () => {
    const bytes = await readFile(tar);
    const binary = await readFile(fx.inputs.binary);
    const offset = bytes.indexOf(binary.subarray(0, 64));
    expect(offset).toBeGreaterThan(0);
    await flipByte(tar, offset + 2_000_000);
    expect(kinds(await verifyBundle(tar, fx.publicKey))).toEqual([['wrong-digest', 'bin/kubeadm']]);
  });

  it('rejects a truncated archive, naming the member it ends in and what is missing', async () => {
    const bytes = await readFile(tar);
    const binary = await readFile(fx.inputs.binary);
    await writeFile(tar, bytes.subarray(0, bytes.indexOf(binary.subarray(0, 64)) + 1000));
    const report = await verifyBundle(tar, fx.publicKey);
    expect(kinds(report)).toEqual([
      ['truncated', 'bin/kubeadm'],
      ['missing', 'charts/charts/cilium-1.16.tgz'],
      ['missing', 'charts/charts/rook-ceph-1.15.tgz'],
      ['missing', 'files/notes.txt'],
      ['missing', 'runbook/runbook.yaml'],
    ]);
    expect(report.problems[0]!.message).toContain('the archive ends inside bin/kubeadm');
  });

  it('rejects an archive cut between members (no end-of-archive marker)', async () => {
    const bytes = await readFile(tar);
    await writeFile(tar, bytes.subarray(0, bytes.length - 1024));
    expect(kinds(await verifyBundle(tar, fx.publicKey))).toEqual([['truncated', 'bundle.tar']]);
  });

  it('rejects members that escape, repeat, or are not listed', async () => {
    const folder = join(fx.dir, 'folder');
    await fx.build(folder);
    const member = async (name: string, file: string) => ({
      name,
      size: (await stat(file)).size,
      source: { file },
    });
    const forged = join(fx.dir, 'forged.tar');
    await writeTar(
      [
        await member('bundle.json', join(folder, 'bundle.json')),
        await member('bundle.sig', join(folder, 'bundle.sig')),
        await member('bin/kubeadm', join(folder, 'bin', 'kubeadm')),
        await member('../../etc/cron.d/evil', fx.inputs.text),
        await member('bin/kubeadm', join(folder, 'bin', 'kubeadm')),
        await member(
          'charts/charts/cilium-1.16.tgz',
          join(folder, 'charts', 'charts', 'cilium-1.16.tgz'),
        ),
        await member(
          'charts/charts/rook-ceph-1.15.tgz',
          join(folder, 'charts', 'charts', 'rook-ceph-1.15.tgz'),
        ),
        await member('files/notes.txt', join(folder, 'files', 'notes.txt')),
        await member('files/surprise.txt', fx.inputs.text),
        await member('runbook/runbook.yaml', join(folder, 'runbook', 'runbook.yaml')),
      ],
      new Date(0),
      createWriteStream(forged),
    );
    expect(kinds(await verifyBundle(forged, fx.publicKey))).toEqual([
      ['path-escape', '../../etc/cron.d/evil'],
      ['duplicate', 'bin/kubeadm'],
      ['extra', 'files/surprise.txt'],
    ]);
  });

  it('exits 1 from "ustart bundle verify" and names the entry', async () => {
    // The last member, runbook/runbook.yaml, has its one data block just before the 1024-byte end marker.
    await flipByte(tar, (await stat(tar)).size - 1536);
    const out = bufferOutput();
    const code = await main(
      ['node', 'ustart', 'bundle', 'verify', tar, '--key', `${fx.keyPrefix}.pub`],
      out,
    );
    expect(code).toBe(1);
    expect(out.out).toContain('NOT verified');
    expect(out.out).toMatch(/wrong-digest runbook\/runbook\.yaml: sha256 is/);
  });
});

describe('building the same inputs twice', () => {
  it('gives the same digest and byte-identical archives; another time changes bytes, not the digest', async () => {
    const a = await fx.build(join(fx.dir, 'a.tar'));
    const b = await fx.build(join(fx.dir, 'b.tar'));
    expect(b.manifest.digest).toBe(a.manifest.digest);
    expect(
      Buffer.compare(await readFile(join(fx.dir, 'a.tar')), await readFile(join(fx.dir, 'b.tar'))),
    ).toBe(0);
    const folder = await fx.build(join(fx.dir, 'folder'));
    expect(folder.manifestBytes.equals(a.manifestBytes)).toBe(true);
    const later = await fx.build(join(fx.dir, 'c.tar'), {
      createdAt: new Date('2026-02-01T00:00:00Z'),
    });
    expect(later.manifest.digest).toBe(a.manifest.digest);
    expect(
      Buffer.compare(await readFile(join(fx.dir, 'a.tar')), await readFile(join(fx.dir, 'c.tar'))),
    ).not.toBe(0);
  });

  it('takes the build time from SOURCE_DATE_EPOCH', async () => {
    const saved = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '1767225600';
    try {
      const built = await fx.build(join(fx.dir, 'epoch.tar'), { createdAt: undefined });
      expect(built.manifest.createdAt).toBe('2026-01-01T00:00:00Z');
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
  });
});

describe('split archives', () => {
  it('writes parts below the size, which verify, and concatenate to the unsplit archive', async () => {
    const whole = join(fx.dir, 'whole.tar');
    await fx.build(whole);
    const split = join(fx.dir, 'split.tar');
    const built = await fx.build(split, { splitBytes: 1024 * 1024 - 512 });
    expect(built.outputs.map((o) => o.slice(fx.dir.length + 1))).toEqual([
      'split.tar.part001',
      'split.tar.part002',
      'split.tar.part003',
      'split.tar.part004',
      'split.tar.parts.json',
    ]);
    const parts = await Promise.all(built.outputs.slice(0, -1).map((p) => readFile(p)));
    for (const part of parts) expect(part.length).toBeLessThan(1024 * 1024);
    expect(Buffer.concat(parts).equals(await readFile(whole))).toBe(true);
    for (const path of [`${split}.parts.json`, `${split}.part002`, split]) {
      const report = await verifyBundle(path, fx.publicKey);
      expect(report.container).toBe('parts');
      expect(report.problems).toEqual([]);
    }
    await writeFile(join(fx.dir, 'reassembled.tar'), Buffer.concat(parts));
    expect((await verifyBundle(join(fx.dir, 'reassembled.tar'), fx.publicKey)).ok).toBe(true);
  });

  it('names a missing part', async () => {
    const split = join(fx.dir, 'split.tar');
    await fx.build(split, { splitBytes: 1024 * 1024 - 512 });
    await rm(`${split}.part004`);
    const report = await verifyBundle(split, fx.publicKey);
    expect(report.ok).toBe(false);
    expect(kinds(report)[0]).toEqual(['bad-part', 'split.tar.part004']);
    expect(kinds(report).map((k) => k[0])).toContain('truncated');
  });
});

describe('requireVerifiedBundle (the gate of "ustart run" on an air-gapped site)', () => {
  it('passes a plan that is not air-gapped without reading anything', async () => {
    const plan = { ...fx.plan, site: { ...fx.plan.site, airGapped: false } };
    expect(await requireVerifiedBundle(plan, undefined, undefined)).toBeUndefined();
  });

  it('refuses an air-gapped plan without a bundle, with a damaged one, or one for another OS', async () => {
    const plan = { ...fx.plan, site: { ...fx.plan.site, airGapped: true } };
    const pub = `${fx.keyPrefix}.pub`;
    await expect(requireVerifiedBundle(plan, undefined, pub)).rejects.toMatchObject({
      code: 'BundleRequired',
    });
    const out = join(fx.dir, 'gate');
    await fx.build(out);
    const report = await requireVerifiedBundle(plan, out, pub);
    expect(report?.ok).toBe(true);
    await flipByte(join(out, 'files', 'notes.txt'), 0);
    const damaged = await requireVerifiedBundle(plan, out, pub).catch((e: unknown) => e);
    expect(damaged).toMatchObject({ code: 'BundleCorrupt' });
    expect((damaged as Error).message).toContain('files/notes.txt: sha256 is');
    const other = join(fx.dir, 'ubuntu');
    await fx.build(other);
    const ubuntuPlan = { ...plan, site: { ...plan.site, osRelease: 'ubuntu-24.04' as const } };
    await expect(requireVerifiedBundle(ubuntuPlan, other, pub)).rejects.toThrow(
      /built for debian-12, but site\.osRelease is ubuntu-24\.04/,
    );
  });
});
