import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../plan/index.js';
import { assetPath } from '../../util/assets.js';
import { runCli as run } from '../../../test/support/run-cli.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-ipam-'));
  file = join(dir, 'site.yaml');
  const demo = await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8');
  // ctl-02 loses its storage address, cmp-01 its management address; a comment marks the spot.
  await writeFile(
    file,
    demo
      .replace('      storage: 10.20.0.12\n', '')
      .replace('      mgmt: 10.10.0.21\n', '      # cmp-01: address to be allocated\n'),
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ustart plan ipam', () => {
  it('prints what it would allocate and leaves the file alone', async () => {
    const before = await readFile(file, 'utf8');
    const r = await run('plan', 'ipam', file);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ctl-02\s+storage\s+10\.20\.0\.12\n/);
    // .11–.13 are the controllers'; cmp-01's own .21 was removed, so .14 is the lowest free.
    expect(r.out).toMatch(/cmp-01\s+mgmt\s+10\.10\.0\.14\n/);
    expect(r.out).toContain('would allocate 2 addresses (dry run');
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('--write saves the addresses, keeps comments and the previous file as .bak', async () => {
    const before = await readFile(file, 'utf8');
    const r = await run('plan', 'ipam', file, '--write');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`allocated 2 addresses; saved ${file}`);
    expect(await readFile(`${file}.bak`, 'utf8')).toBe(before);
    const after = await readFile(file, 'utf8');
    expect(after).toContain('# cmp-01: address to be allocated');
    expect(after.startsWith('# uStart site plan')).toBe(true);
    const plan = (await loadPlanFile(file)).plan!;
    expect(plan.servers[1]!.addresses.storage).toBe('10.20.0.12');
    expect(plan.servers[3]!.addresses.mgmt).toBe('10.10.0.14');
    const again = await run('plan', 'ipam', file, '--write');
    expect(again.out).toContain('nothing to allocate');
    expect(await readFile(file, 'utf8')).toBe(after);
  });

  it('exits 1 and writes nothing when a pool runs out', async () => {
    const text = (await readFile(file, 'utf8')).replace(
      'start: 10.10.0.11\n      end: 10.10.0.200',
      'start: 10.10.0.11\n      end: 10.10.0.13',
    );
    await writeFile(file, text);
    const r = await run('plan', 'ipam', file, '--write');
    expect(r.code).toBe(1);
    expect(r.out).toContain('nothing was written');
    expect(r.out).toMatch(new RegExp(`ipam-pool-exhausted /networks/0/pool  ${file}:\\d+:\\d+`));
    expect(r.out).toContain('1 address missing (cmp-01)');
    expect(await readFile(file, 'utf8')).toBe(text);
    await expect(access(`${file}.bak`)).rejects.toThrow();
  });

  it('prints JSON with the allocations and the network summary', async () => {
    const r = await run('plan', 'ipam', file, '--json');
    const json = JSON.parse(r.out) as {
      written: boolean;
      allocations: Array<{ hostname: string; address: string }>;
      summary: Array<{ network: string; free: number; poolSize: number }>;
    };
    expect(json.written).toBe(false);
    expect(json.allocations.map((a) => `${a.hostname}=${a.address}`)).toEqual([
      'ctl-02=10.20.0.12',
      'cmp-01=10.10.0.14',
    ]);
    expect(json.summary.find((s) => s.network === 'mgmt')).toMatchObject({
      poolSize: 190,
      free: 180,
    });
  });

  it('exits 1 on a plan the schema rejects and 2 on a file it cannot read', async () => {
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('memoryGiB: 256', 'memoryGiB: lots'),
    );
    const bad = await run('plan', 'ipam', file);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('/servers/0/memoryGiB');
    const missing = await run('plan', 'ipam', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nope.yaml does not exist');
  });
});
