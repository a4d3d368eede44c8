import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unwrap } from '../api/index.js';
import { createCore, type Core } from './core.js';

let dir: string;
let core: Core;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-core-'));
  core = createCore({ mode: 'test', stateDir: join(dir, 'state'), root: dir });
});
afterEach(async () => {
  await core.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('core over the direct binding', () => {
  it('saves a new plan and reopens the same plan, keeping a comment on a second save', async () => {
    const created = unwrap(await core.client.planNew({ template: 'demo' }));
    expect(created.file).toBeNull();
    const plan = created.plan!;
    const saved = unwrap(await core.client.planSave({ file: 'site.yaml', plan }));
    expect(saved.file).toBe(join(dir, 'site.yaml'));
    const reopened = unwrap(await core.client.planOpen({ file: 'site.yaml' }));
    expect(reopened.plan).toEqual(plan);

    const text = await readFile(saved.file, 'utf8');
    await writeFile(saved.file, `# kept by the customer\n${text}`);
    unwrap(await core.client.planOpen({ file: 'site.yaml' }));
    const renamed = { ...plan, site: { ...plan.site, customer: 'Beispiel GmbH' } };
    unwrap(await core.client.planSave({ file: 'site.yaml', plan: renamed }));
    const after = await readFile(saved.file, 'utf8');
    expect(after).toContain('# kept by the customer');
    expect(after).toContain('Beispiel GmbH');
  });

  it('refuses to overwrite a plan changed on disk since it was opened', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'empty' })).plan!;
    unwrap(await core.client.planSave({ file: 'a.yaml', plan }));
    unwrap(await core.client.planOpen({ file: 'a.yaml' }));
    await writeFile(join(dir, 'a.yaml'), (await readFile(join(dir, 'a.yaml'), 'utf8')) + '\n# x\n');
    const result = await core.client.planSave({ file: 'a.yaml', plan });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('PlanChangedOnDisk');
  });

  it('answers schema findings for a half-typed plan instead of refusing it', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'demo' })).plan!;
    const broken = structuredClone(plan) as { servers: Array<Record<string, unknown>> };
    broken.servers[0]!.memoryGiB = 'lots';
    const result = unwrap(await core.client.planValidate({ plan: broken }));
    expect(result.counts.error).toBeGreaterThan(0);
    expect(result.findings.map((f) => f.path)).toContain('/servers/0/memoryGiB');
  });

  it('rejects input that does not match the contract, naming the field', async () => {
    const result = await core.client.planOpen({ file: '' });
    expect(result).toMatchObject({ ok: false, error: { code: 'BadInput' } });
  });

  it('keeps every path inside the root', async () => {
    const result = await core.client.planOpen({ file: '../../etc/passwd' });
    expect(result).toMatchObject({ ok: false, error: { code: 'InvalidArgument' } });
  });

  it('remembers opened plans newest first and tells the fronts', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'empty' })).plan!;
    const seen: string[][] = [];
    const off = core.client.on('recent:changed', (e) => seen.push(e.files.map((f) => f.file)));
    unwrap(await core.client.planSave({ file: 'one.yaml', plan }));
    unwrap(await core.client.planSave({ file: 'two.yaml', plan }));
    unwrap(await core.client.planOpen({ file: 'one.yaml' }));
    off();
    const files = unwrap(await core.client.recentList()).files.map((f) => f.file);
    expect(files).toEqual([join(dir, 'one.yaml'), join(dir, 'two.yaml')]);
    expect(seen.at(-1)).toEqual(files);
  });

  it('renders a handover report with rack diagrams, IP plan and roles, and writes it as HTML', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'demo' })).plan!;
    const { html } = unwrap(await core.client.reportRender({ plan, lang: 'de' }));
    expect(html).toContain('Übergabebericht');
    expect(html).toContain('<svg');
    expect(html).toContain(plan.racks[0]!.name);
    expect(html).toContain(plan.servers[0]!.addresses.mgmt!);
    const out = unwrap(
      await core.client.reportExport({ plan, lang: 'en', file: 'report.html', format: 'html' }),
    );
    expect(await readFile(out.file, 'utf8')).toContain('Handover report');
    const pdf = await core.client.reportExport({ plan, lang: 'en', file: 'r.pdf', format: 'pdf' });
    expect(pdf).toMatchObject({ ok: false, error: { code: 'Unsupported' } });
  });

  it('fills missing addresses with IPAM and shows every network in the IP plan', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'demo' })).plan!;
    const stripped = structuredClone(plan);
    delete stripped.servers[0]!.addresses.mgmt;
    const ipam = unwrap(await core.client.planIpam({ plan: stripped }));
    expect(ipam.assigned).toBeGreaterThan(0);
    expect(ipam.plan.servers[0]!.addresses.mgmt).toBeDefined();
    const { networks } = unwrap(await core.client.planIpPlan({ plan: ipam.plan }));
    expect(networks.map((n) => n.network)).toEqual(plan.networks.map((n) => n.name));
    const mgmt = networks.find((n) => n.network === 'mgmt')!;
    expect(mgmt.allocated.some((a) => a.owner === plan.servers[0]!.hostname)).toBe(true);
  });
});

describe('capacity summary', () => {
  it('adds up the demo site and names the rack whose loss costs most', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'demo' })).plan!;
    const capacity = unwrap(await core.client.planCapacity({ plan }));
    expect(capacity.vcpu).toBeGreaterThan(0);
    expect(capacity.cephUsableTB).toBeLessThan(capacity.cephRawTB);
    expect(plan.racks.map((r) => r.name)).toContain(capacity.rackLoss?.rack);
    expect(capacity.power.map((p) => p.rack)).toEqual(plan.racks.map((r) => r.name));
    expect(capacity.power.every((p) => p.usedKw > 0)).toBe(true);
  });
});

describe('CSV import', () => {
  it('previews the customer list with a detected mapping, then imports with a changed one', async () => {
    const csv = await readFile(
      join(import.meta.dirname, '../../test/fixtures/customer-inventory-de.csv'),
    );
    await writeFile(join(dir, 'inventory.csv'), csv);
    const preview = unwrap(await core.client.csvPreview({ file: 'inventory.csv' }));
    expect(preview.columns).toContain('Hostname');
    expect(preview.mapping.hostname).toBe('Hostname');
    expect(preview.rowCount).toBe(preview.rows.length);
    expect(preview.fields.find((f) => f.field === 'hostname')?.required).toBe(true);
    const plan = unwrap(await core.client.planNew({ template: 'empty' })).plan!;
    const imported = unwrap(
      await core.client.csvImport({ text: preview.text, mapping: preview.mapping, plan }),
    );
    expect(imported.servers.map((s) => s.hostname)).toContain('ctl-01');
    expect(imported.racks.map((r) => r.name)).toContain('R01');
    const withoutNotes = unwrap(
      await core.client.csvImport({
        text: preview.text,
        mapping: { ...preview.mapping, notes: null },
        plan,
      }),
    );
    expect(withoutNotes.servers.every((s) => s.notes === undefined)).toBe(true);
  });

  it('answers CsvInvalid naming the column when a required field is unmapped', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'empty' })).plan!;
    const text = 'Hostname;Rack;HE\nctl-01;R01;40\n';
    const result = await core.client.csvImport({ text, mapping: { hostname: null }, plan });
    expect(result).toMatchObject({ ok: false, error: { code: 'CsvInvalid' } });
  });
});

describe('rendered configuration', () => {
  it('writes every host’s files for a valid plan and refuses a plan with errors', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'demo' })).plan!;
    const rendered = unwrap(await core.client.planRender({ plan, dir: 'render' }));
    expect(rendered.dir).toBe(join(dir, 'render'));
    expect(rendered.hosts).toBe(plan.servers.length);
    expect(rendered.files).toBeGreaterThan(plan.servers.length);
    expect(await readFile(join(dir, 'render', 'index.json'), 'utf8')).toContain(
      plan.servers[0]!.hostname,
    );
    const broken = { ...plan, servers: plan.servers.map((s) => ({ ...s, hostname: 'same' })) };
    const refused = await core.client.planRender({ plan: broken, dir: 'render2' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'PlanInvalid' } });
  });
});
