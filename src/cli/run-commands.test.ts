/** `ustart runs` and `ustart logs` over run folders the engine wrote (local processes as hosts). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localRun } from '../../test/support/local-run.js';
import { main } from './main.js';
import { bufferOutput } from './output.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function finishedRun(run: string) {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-cli-runs-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const result = await localRun({
    runsDir: dir,
    steps: [{ id: 'hello', title: 'hello', phase: 't', targets: 'all', run }],
    hosts: ['h1', 'h2'],
  });
  return { dir, result };
}

describe('ustart runs / logs', () => {
  it('lists runs with state and counts', async () => {
    const { dir, result } = await finishedRun('[ "$HOST" = h1 ]');
    const out = bufferOutput();
    expect(await main(['node', 'ustart', 'runs', 'plan.yaml', '--runs-dir', dir], out)).toBe(0);
    expect(out.out).toMatch(new RegExp(`^${result.runId} .* failed +1 succeeded, 1 failed`, 'm'));
  });

  it('prints one host of a step, prefixed, and --follow ends with the run', async () => {
    const { dir, result } = await finishedRun('echo "hi from $HOST"; echo "second line"');
    const out = bufferOutput();
    const code = await main(
      ['node', 'ustart', 'logs', result.runId, '--runs-dir', dir, '--host', 'h2', '--follow'],
      out,
    );
    expect(code).toBe(0);
    expect(out.out).toContain('h2 hello │ hi from h2\nh2 hello │ second line\n');
    expect(out.out).not.toContain('h1');
  });

  it('says how to find runs when the id is unknown', async () => {
    const { dir } = await finishedRun('true');
    const out = bufferOutput();
    expect(await main(['node', 'ustart', 'logs', 'nope', '--runs-dir', dir], out)).toBe(2);
    expect(out.err).toContain('there is no run nope');
  });
});
