/**
 * The bundle a run is given: verified like on an air-gapped site on every site it is given
 * for, half of one refused, and a verification reused in the session while the bundle's
 * files keep their size and modification time (a retry does not hash the bundle again).
 */
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createBundle, generateKeyPair, loadPrivateKey } from '../bundle/index.js';
import { isUstartError } from '../errors.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import { VerifiedBundleCache, verifyRunBundle } from './run-bundle.js';

let work: string;
let plan: Plan;
const key = () => join(work, 'signing.pub');

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'ustart-run-bundle-'));
  plan = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  expect(plan.site.airGapped).toBe(false);
  await mkdir(join(work, 'runbook'));
  await writeFile(join(work, 'runbook', 'runbook.yaml'), 'steps: []\n');
  await writeFile(join(work, 'notes.txt'), 'site notes\n');
  await generateKeyPair(join(work, 'signing'));
  const privateKey = await loadPrivateKey(join(work, 'signing.key'));
  for (const out of ['bundle', 'bundle.tar']) {
    await createBundle({
      plan,
      out: join(work, out),
      privateKey,
      onlyAdded: true,
      architecture: 'amd64',
      runbookDir: join(work, 'runbook'),
      add: [{ kind: 'file', path: join(work, 'notes.txt') }],
    });
  }
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

it('verifies a bundle given on a site with its own sources, and refuses half of one', async () => {
  expect(await verifyRunBundle(plan, undefined, undefined)).toBeUndefined();
  const report = await verifyRunBundle(plan, join(work, 'bundle.tar'), key());
  expect(report?.ok).toBe(true);
  const halves: [string | undefined, string | undefined][] = [
    [join(work, 'bundle.tar'), undefined],
    [undefined, key()],
  ];
  for (const [path, publicKey] of halves) {
    const e = await verifyRunBundle(plan, path, publicKey).catch((x: unknown) => x);
    expect(isUstartError(e, 'InvalidArgument')).toBe(true);
    expect((e as Error).message).toMatch(/give both the offline bundle and its public key/);
  }
  const airGapped = { ...plan, site: { ...plan.site, airGapped: true } };
  const none = await verifyRunBundle(airGapped, undefined, undefined).catch((x: unknown) => x);
  expect(isUstartError(none, 'BundleRequired')).toBe(true);
});

it('reuses a verification while the files are unchanged, and verifies again after a change', async () => {
  const cache = new VerifiedBundleCache();
  const tar = join(work, 'bundle.tar');
  const first = await cache.verify(plan, tar, key());
  expect(first?.ok).toBe(true);
  // The very same report: nothing was read or hashed again.
  expect(await cache.verify(plan, tar, key())).toBe(first);

  await utimes(tar, new Date(), new Date(Date.now() + 5000));
  const touched = await cache.verify(plan, tar, key());
  expect(touched?.ok).toBe(true);
  expect(touched).not.toBe(first);

  // A folder: one entry's bytes changed in place, same size, is found.
  const folder = join(work, 'bundle');
  const ok = await cache.verify(plan, folder, key());
  expect(await cache.verify(plan, folder, key())).toBe(ok);
  const changed = ok!.manifest!.entries.find((e) => e.kind === 'file')!;
  const entry = join(folder, changed.path);
  const bytes = await readFile(entry);
  bytes[0] = bytes[0]! ^ 1;
  await writeFile(entry, bytes);
  await utimes(entry, new Date(), new Date(Date.now() + 5000));
  const corrupt = await cache.verify(plan, folder, key()).catch((x: unknown) => x);
  expect(isUstartError(corrupt, 'BundleCorrupt')).toBe(true);
  expect((corrupt as Error).message).toContain(changed.path);
});
