/**
 * Golden files of `ustart render` for the demo plan (test/golden/demo-stuttgart/): every
 * rendered file except verbatim copies of the runbook's scripts, plus MANIFEST.txt with the
 * SHA-256 of every file, copies included. A change to what a host gets shows up as a diff
 * to review. After an intended change: UPDATE_GOLDEN=1 npx vitest run src/render/golden.test.ts
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlanFile } from '../plan/load.js';
import { assetPath } from '../util/assets.js';
import { Renderer } from './render.js';
import { loadSiteRunbook } from './step-specs.js';
import { renderFiles } from './write.js';

const GOLDEN = fileURLToPath(new URL('../../test/golden/demo-stuttgart/', import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';

async function expected(): Promise<Map<string, string>> {
  const plan = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  const runbook = await loadSiteRunbook();
  const files = renderFiles(await Renderer.create(plan, runbook));
  const scripts = new Set<string>();
  for (const s of runbook.steps) {
    for (const f of [s.runFile, s.checkFile]) if (f) scripts.add(await readFile(f, 'utf8'));
  }
  const out = new Map<string, string>();
  const manifest = files.map(
    (f) => `${createHash('sha256').update(f.content).digest('hex')}  ${f.path}`,
  );
  out.set('MANIFEST.txt', manifest.join('\n') + '\n');
  for (const f of files) {
    if (f.path === 'lib.sh' || scripts.has(f.content)) continue;
    out.set(f.path, f.content);
  }
  return out;
}

async function onDisk(): Promise<Map<string, string>> {
  const names = (await readdir(GOLDEN, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(GOLDEN.length));
  const out = new Map<string, string>();
  for (const name of names.sort()) out.set(name, await readFile(join(GOLDEN, name), 'utf8'));
  return out;
}

describe('golden render of the demo plan', () => {
  it('matches test/golden/demo-stuttgart (UPDATE_GOLDEN=1 rewrites it)', async () => {
    const want = await expected();
    if (update) {
      await rm(GOLDEN, { recursive: true, force: true });
      for (const [path, content] of want) {
        await mkdir(dirname(join(GOLDEN, path)), { recursive: true });
        await writeFile(join(GOLDEN, path), content);
      }
    }
    const have = await onDisk();
    expect([...have.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [path, content] of want) expect(have.get(path), path).toBe(content);
  });
});
