import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPlanFile, loadPlanFile } from '../../plan/index.js';
import { assetPath } from '../../util/assets.js';
import { runCli as run } from '../../../test/support/run-cli.js';

const INVENTORY = fileURLToPath(
  new URL('../../../test/fixtures/customer-inventory-de.csv', import.meta.url),
);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-csv-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function missing(file: string): Promise<boolean> {
  return access(file).then(
    () => false,
    () => true,
  );
}

describe('ustart plan import-csv', () => {
  it('turns the customer inventory into a plan that loads', async () => {
    const out = join(dir, 'kunde.yaml');
    const r = await run('plan', 'import-csv', INVENTORY, '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote ${out}: 11 servers in 2 racks`);
    expect(r.err).toContain('no threads column');
    const checked = await checkPlanFile(out);
    const plan = checked.plan!;
    expect(plan.site.name).toBe('demo-stuttgart');
    expect(plan.networks.map((n) => n.name)).toEqual([
      'mgmt',
      'bmc',
      'storage',
      'provider',
      'tenant',
    ]);
    expect(plan.racks).toEqual([
      { name: 'R01', units: 42, powerKw: 8 },
      { name: 'R02', units: 42, powerKw: 8 },
    ]);
    const byName = new Map(plan.servers.map((s) => [s.hostname, s]));
    expect(byName.get('ctl-02')!.nics).toEqual([
      { name: 'eno1', mac: 'b0:7b:25:1a:00:02', speedGbps: 10, network: 'mgmt' },
    ]);
    expect(byName.get('ctl-03')!.nics[0]!.mac).toBe('b0:7b:25:1a:00:03');
    expect(byName.get('cmp-04')).toMatchObject({ position: 28, units: 2, memoryGiB: 1024 });
    expect(
      byName.get('sto-02')!.disks.filter((d) => d.use === 'ceph-osd' && d.sizeGB === 7680),
    ).toHaveLength(8);
    expect(byName.get('hci-01')!.roles).toEqual(['compute', 'storage']);
    expect(checked.findings.filter((f) => f.rule.startsWith('schema-'))).toEqual([]);
  });

  it('never overwrites a file without --force, and keeps a backup with it', async () => {
    const out = join(dir, 'kunde.yaml');
    await writeFile(out, 'mine\n');
    const refused = await run('plan', 'import-csv', INVENTORY, '--out', out);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('already exists; nothing was written');
    expect(await readFile(out, 'utf8')).toBe('mine\n');
    const forced = await run('plan', 'import-csv', INVENTORY, '--out', out, '--force');
    expect(forced.code).toBe(0);
    expect(await readFile(`${out}.bak`, 'utf8')).toBe('mine\n');
    expect((await loadPlanFile(out)).plan?.servers).toHaveLength(11);
  });

  it('lists the bad rows, exits 1 and writes nothing', async () => {
    const csv = join(dir, 'bad.csv');
    const text = (await readFile(INVENTORY, 'utf8'))
      .replace(
        ';256;"2x 480 GB SSD (OS RAID1); 1x 1,92 TB NVMe";b0-7b',
        ';25b;"2x 480 GB SSD (OS RAID1); 1x 1,92 TB NVMe";b0-7b',
      )
      .replace('3C:EC:EF:20:00:02', '3C:EC:EF:20:00');
    await writeFile(csv, text);
    const out = join(dir, 'kunde.yaml');
    const r = await run('plan', 'import-csv', csv, '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toContain("line 3, column 'RAM (GB)': '25b' is not a number");
    expect(r.err).toContain("line 10, column 'MAC (Mgmt)': '3C:EC:EF:20:00' is not a MAC address");
    expect(await missing(out)).toBe(true);
  });

  it('exits 2 for an empty or missing CSV', async () => {
    const empty = join(dir, 'empty.csv');
    await writeFile(empty, '\ufeff');
    const out = join(dir, 'kunde.yaml');
    const r = await run('plan', 'import-csv', empty, '--out', out);
    expect(r.code).toBe(2);
    expect(r.err).toContain('empty.csv is empty');
    const gone = await run('plan', 'import-csv', join(dir, 'nope.csv'), '--out', out);
    expect(gone.code).toBe(2);
    expect(gone.err).toContain('nope.csv does not exist');
    expect(await missing(out)).toBe(true);
  });

  it('takes networks and known racks from --base', async () => {
    const base = join(dir, 'base.yaml');
    const demo = await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8');
    await writeFile(
      base,
      demo
        .replace('  - name: mgmt\n', '  - name: oam\n')
        .replace(/network: mgmt/g, 'network: oam')
        .replace(/ {6}mgmt: /g, '      oam: ')
        .replace('name: R02\n    units: 42', 'name: R02\n    units: 48'),
    );
    const out = join(dir, 'kunde.yaml');
    const r = await run('plan', 'import-csv', INVENTORY, '--out', out, '--base', base);
    expect(r.code).toBe(0);
    const plan = (await loadPlanFile(out)).plan!;
    expect(plan.racks.find((x) => x.name === 'R02')!.units).toBe(48);
    expect(plan.servers[0]!.nics[0]!.network).toBe('oam');
    expect(plan.servers[0]!.addresses).toEqual({ oam: '10.10.0.11' });
  });
});
