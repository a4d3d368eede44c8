/**
 * What browser mode needs from the core for files on the user's own computer: a plan opened
 * from uploaded text, the export as text for a download, the upload size limit, and a
 * recent list that names only files inside the served folder.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_UPLOAD_CHARS, unwrap } from '../api/index.js';
import { planToYaml } from '../plan/index.js';
import { createCore, type Core } from './core.js';

let dir: string;
const cores: Core[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-browser-files-'));
});
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.dispose()));
  await rm(dir, { recursive: true, force: true });
});

function core(root: string): Core {
  const c = createCore({ mode: 'browser', stateDir: join(dir, 'state'), root });
  cores.push(c);
  return c;
}

describe('browser-mode files in the core', () => {
  it('opens an uploaded plan from its text, without a file, and gives the export as text', async () => {
    const c = core(dir);
    const demo = unwrap(await c.client.planNew({ template: 'demo' })).plan!;
    const opened = unwrap(
      await c.client.planOpenText({ name: 'stuttgart.yaml', text: planToYaml(demo) }),
    );
    expect(opened.file).toBeNull();
    expect(opened.plan).toEqual(demo);

    const { text } = unwrap(await c.client.planYaml({ plan: demo }));
    const written = unwrap(await c.client.planExport({ plan: demo, file: 'export.yaml' }));
    // The download and the exported file are the same text.
    expect(text).toBe(await readFile(written.file, 'utf8'));
  });

  it('names the uploaded file when its text is no plan', async () => {
    const c = core(dir);
    const broken = await c.client.planOpenText({ name: 'notes.yaml', text: 'site: [unclosed\n' });
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.error.message).toContain('notes.yaml');
  });

  it('refuses an upload over the limit with a sentence that says what to do', async () => {
    const c = core(dir);
    const text = 'x'.repeat(MAX_UPLOAD_CHARS + 1);
    for (const r of [
      await c.client.planOpenText({ name: 'big.yaml', text }),
      await c.client.csvPreview({ text }),
    ]) {
      expect(r).toMatchObject({ ok: false, error: { code: 'BadInput' } });
      if (!r.ok) expect(r.error.message).toMatch(/larger than 8 MB.*served folder/);
    }
  });

  it('lists only recent files inside the served folder', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await mkdir(a);
    await mkdir(b);
    const inA = core(a);
    const inB = core(b);
    const plan = unwrap(await inA.client.planNew({ template: 'empty' })).plan!;
    unwrap(await inA.client.planSave({ file: 'one.yaml', plan }));
    unwrap(await inB.client.planSave({ file: 'two.yaml', plan }));
    // Both servers share the state folder, so the list on disk holds both files.
    const onDisk = JSON.parse(await readFile(join(dir, 'state', 'recent.json'), 'utf8')) as Array<{
      file: string;
    }>;
    expect(onDisk.map((e) => e.file)).toEqual([join(b, 'two.yaml'), join(a, 'one.yaml')]);
    const listed = (c: Core) =>
      c.client.recentList().then((r) => unwrap(r).files.map((f) => f.file));
    expect(await listed(inA)).toEqual([join(a, 'one.yaml')]);
    expect(await listed(inB)).toEqual([join(b, 'two.yaml')]);

    // The event after a save is filtered the same way.
    const seen: string[][] = [];
    const off = inA.client.on('recent:changed', (e) => seen.push(e.files.map((f) => f.file)));
    unwrap(await inA.client.planSave({ file: 'three.yaml', plan }));
    off();
    expect(seen.at(-1)).toEqual([join(a, 'three.yaml'), join(a, 'one.yaml')]);
  });
});
