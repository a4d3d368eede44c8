/**
 * `ustart run --phase`: the runbook as the step source, the reset confirmation and the plan
 * check. Nothing here reaches a server: each case ends before the engine connects (a lab run
 * of the connect phase is test/integration/runbook-connect.test.ts).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { bufferOutput } from '../output.js';

const DEMO = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'assets',
  'samples',
  'demo-stuttgart.yaml',
);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-cli-run-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function ustart(args: string[]) {
  const out = bufferOutput();
  const code = await main(['node', 'ustart', 'run', ...args], out);
  return { code, out: out.out, err: out.err };
}

describe('ustart run --phase', () => {
  it('builds the runbook steps of the connect phase, and only those', async () => {
    const dir = await tempDir();
    // An unknown --steps id stops the engine before it connects and lists the graph's steps.
    const r = await ustart([DEMO, '--phase', 'connect', '--steps', 'nope', '--runs-dir', dir]);
    expect(r.code).toBe(2);
    const listed = /the steps are (.*)\./.exec(r.err)?.[1]?.split(', ');
    expect(listed).toEqual(expect.arrayContaining(['connect.facts', 'connect.netcheck']));
    expect(listed!.every((id) => id.startsWith('connect.'))).toBe(true);
  });

  it('refuses a reset phase unless the site name is typed, and says what to type', async () => {
    const dir = await tempDir();
    const args = [DEMO, '--phase', 'reset-umetal', '--runs-dir', dir];
    const refused = await ustart(args);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain("--confirm-reset 'demo-stuttgart'");
    const wrong = await ustart([...args, '--confirm-reset', 'demo-munich']);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain("--confirm-reset 'demo-stuttgart'");
  });

  it('refuses an install phase on a plan with errors', async () => {
    const dir = await tempDir();
    const broken = join(dir, 'plan.yaml');
    // Two servers on one address: a rule error, not a parse error.
    const text = await readFile(DEMO, 'utf8');
    await writeFile(broken, text.replace('address: 10.9.0.12', 'address: 10.9.0.11'));
    const r = await ustart([broken, '--phase', 'umetal', '--runs-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('the plan has errors; fix them before running');
  });

  it('names the phases when one is unknown', async () => {
    const r = await ustart([DEMO, '--phase', 'umetl']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--phase umetl: there is no such phase');
  });
});
