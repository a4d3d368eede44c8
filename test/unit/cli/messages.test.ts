/**
 * Issue 16, finding 10: a full disk on save printed "unexpected error" and a stack trace, and
 * deeply nested YAML printed "Maximum call stack size exceeded". Both now say what happened
 * to which file and what to do. The full disk is a real one: a 64 kB tmpfs (root only).
 */
import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../../src/api/index.js';
import { createCore } from '../../../src/app/core.js';
import { main } from '../../../src/cli/main.js';
import { bufferOutput } from '../../../src/cli/output.js';
import { parsePlanText } from '../../../src/plan/load.js';
import { assetPath } from '../../../src/util/assets.js';
import { MAX_YAML_DEPTH } from '../../../src/util/yaml-depth.js';

async function run(...args: string[]) {
  const out = bufferOutput();
  const code = await main(['node', 'ustart', ...args], out);
  return { code, err: out.err };
}

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('a full disk when saving', () => {
  let dir: string;
  let mounted = false;
  let plan: string;
  let before: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    mounted = true;
    const demo = await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8');
    // cmp-01 loses its address, so `plan ipam --write` has something to save.
    before = demo.replace('      mgmt: 10.10.0.21\n', '');
    plan = join(dir, 'site.yaml');
    await writeFile(plan, before);
    // Fill what is left, 1 kB at a time, until the disk refuses.
    for (;;) {
      try {
        await appendFile(join(dir, 'filler'), Buffer.alloc(1024, 1));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw e;
      }
    }
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  });

  it('ustart plan ipam --write says the disk is full, names the file, and leaves it intact', async () => {
    const { code, err } = await run('plan', 'ipam', plan, '--write');
    expect(err).toContain(`could not write ${plan}`);
    expect(err).toContain('the disk is full');
    expect(err).not.toContain('unexpected error');
    expect(err).not.toMatch(/\n\s+at /); // no stack trace
    expect(code).toBe(2);
    expect(await readFile(plan, 'utf8')).toBe(before);
    expect((await readdir(dir)).sort()).toEqual(['filler', 'site.yaml']);
  });

  it('the core answers WriteFailed with the same message (browser mode and the app)', async () => {
    const core = createCore({
      mode: 'test',
      stateDir: join(tmpdir(), 'ustart-full-state'),
      root: dir,
    });
    try {
      const { plan: demo } = unwrap(await core.client.planNew({ template: 'demo' }));
      const result = await core.client.planExport({ plan: demo!, file: 'export.yaml' });
      expect(result).toMatchObject({ ok: false, error: { code: 'WriteFailed' } });
      if (!result.ok) expect(result.error.message).toMatch(/export\.yaml: the disk is full/);
      expect((await readdir(dir)).sort()).toEqual(['filler', 'site.yaml']);
    } finally {
      await core.dispose();
      await rm(join(tmpdir(), 'ustart-full-state'), { recursive: true, force: true });
    }
  });
});

describe('deeply nested YAML', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-nested-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const shapes: Array<[string, () => string, number]> = [
    [
      'flow lists (40 kB of brackets)',
      () => `schemaVersion: 1\nsite: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
      2,
    ],
    [
      'block mappings (one level per line)',
      () => {
        let text = 'schemaVersion: 1\nsite:\n';
        for (let i = 1; i <= 1200; i++) text += `${' '.repeat(i)}k${i}:\n`;
        return text;
      },
      MAX_YAML_DEPTH + 2,
    ],
  ];
  for (const [name, make, line] of shapes) {
    it(`ustart validate refuses ${name}, naming the file, the line and the limit`, async () => {
      const file = join(dir, `${name.split(' ')[0]!}.yaml`);
      await writeFile(file, make());
      const { code, err } = await run('validate', file);
      expect(err).toContain(
        `${file}:${line}: the YAML is nested more than ${MAX_YAML_DEPTH} levels deep`,
      );
      expect(err).not.toContain('call stack');
      expect(code).toBe(2);
    });
  }

  it('reads a plan nested to the limit', () => {
    const deep = `schemaVersion: 1\nsite: ${'['.repeat(MAX_YAML_DEPTH - 1)}${']'.repeat(MAX_YAML_DEPTH - 1)}\n`;
    expect(() => parsePlanText(deep, 'deep.yaml')).not.toThrow(/nested/);
  });
});
