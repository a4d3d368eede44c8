/**
 * Browser mode's root (issue 16, finding 2): confinement by real path, so a link inside the
 * root reaches nothing outside it, and special files inside the root are refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unwrap } from '../api/index.js';
import { createCore, type Core } from './core.js';
import { pathPolicy } from './path-confinement.js';

let root: string;
let outside: string;
let core: Core;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ustart-root-'));
  outside = await mkdtemp(join(tmpdir(), 'ustart-outside-'));
  core = createCore({ mode: 'test', stateDir: join(root, '.state'), root });
});
afterEach(async () => {
  await core.dispose();
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('the served folder', () => {
  it('does not read a file outside the root through a link inside it (csv:preview, plan:open)', async () => {
    await writeFile(join(outside, 'secret.csv'), 'hostname;password\nroot;hunter2\n');
    await symlink(join(outside, 'secret.csv'), join(root, 'inventory.csv'));
    await symlink(outside, join(root, 'elsewhere'));
    for (const file of ['inventory.csv', 'elsewhere/secret.csv']) {
      const preview = await core.client.csvPreview({ file });
      expect(preview).toMatchObject({ ok: false, error: { code: 'InvalidArgument' } });
      expect(JSON.stringify(preview)).not.toContain('hunter2');
      if (!preview.ok) expect(preview.error.message).toContain('outside');
    }
    const opened = await core.client.planOpen({ file: 'elsewhere/secret.csv' });
    expect(opened).toMatchObject({ ok: false, error: { code: 'InvalidArgument' } });
  });

  it('does not write outside the root through a linked folder or a dangling link (plan:export, report:export)', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'empty' })).plan!;
    await symlink(outside, join(root, 'etc'));
    await symlink(join(outside, 'created-by-link.yaml'), join(root, 'dangling.yaml'));
    const results = [
      await core.client.planExport({ plan, file: 'etc/cron-job.yaml' }),
      await core.client.planSave({ file: 'etc/plan.yaml', plan }),
      await core.client.planExport({ plan, file: 'dangling.yaml' }),
      await core.client.reportExport({ plan, lang: 'en', file: 'etc/r.html', format: 'html' }),
    ];
    for (const r of results)
      expect(r).toMatchObject({ ok: false, error: { code: 'InvalidArgument' } });
    expect(await readdir(outside)).toEqual([]);
  });

  it('still follows links that stay inside the root, answering the real path', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'demo' })).plan!;
    await mkdir(join(root, 'plans'));
    await symlink(join(root, 'plans'), join(root, 'current'));
    const saved = unwrap(await core.client.planSave({ file: 'current/site.yaml', plan }));
    expect(saved.file).toBe(join(pathPolicy(root).root!, 'plans', 'site.yaml'));
    expect(unwrap(await core.client.planOpen({ file: 'current/site.yaml' })).plan).toEqual(plan);
  });

  it('refuses a FIFO inside the root at once, naming it', async () => {
    execFileSync('mkfifo', [join(root, 'pipe.yaml')]);
    const opened = await core.client.planOpen({ file: 'pipe.yaml' });
    expect(opened).toMatchObject({ ok: false, error: { code: 'InvalidArgument' } });
    if (!opened.ok) expect(opened.error.message).toMatch(/pipe\.yaml is a FIFO/);
    const preview = await core.client.csvPreview({ file: 'pipe.yaml' });
    expect(preview).toMatchObject({ ok: false, error: { code: 'InvalidArgument' } });
  });
});
