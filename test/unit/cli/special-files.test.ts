/**
 * Issue 16, finding 5: a FIFO (or another special file) given where a user file is expected
 * hung `ustart validate`, `plan ipam` and the core's plan:open forever. Every reader of user
 * files refuses what is not a regular file, at once, naming the path.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../../src/app/core.js';
import { main } from '../../../src/cli/main.js';
import { bufferOutput } from '../../../src/cli/output.js';
import { assetPath } from '../../../src/util/assets.js';

const DEMO = assetPath('samples', 'demo-stuttgart.yaml');
// Short: on the old code each of these blocked forever; a fixed build answers in milliseconds.
const ANSWERS_WITHIN_MS = 10_000;

let dir: string;
let fifo: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-special-'));
  fifo = join(dir, 'plan.yaml');
  execFileSync('mkfifo', [fifo]);
  const out = bufferOutput();
  expect(await main(['node', 'ustart', 'bundle', 'keygen', '--out', join(dir, 'k')], out)).toBe(0);
});
afterEach(() => {
  // Releases a reader a broken build left blocked on the FIFO, so the worker can exit.
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    /* ENXIO: nobody is reading, as it should be */
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...args: string[]) {
  const out = bufferOutput();
  const code = await main(['node', 'ustart', ...args], out);
  return { code, err: out.err };
}

describe('a FIFO where a file is expected', () => {
  const commands: Array<[string, () => string[]]> = [
    ['validate', () => ['validate', fifo]],
    ['plan ipam', () => ['plan', 'ipam', fifo]],
    ['plan capacity', () => ['plan', 'capacity', fifo]],
    ['plan import-csv', () => ['plan', 'import-csv', fifo, '--out', join(dir, 'out.yaml')]],
    ['render', () => ['render', fifo, '--out', join(dir, 'render')]],
    ['bundle verify (the bundle)', () => ['bundle', 'verify', fifo, '--key', join(dir, 'k.pub')]],
    ['bundle verify (the key)', () => ['bundle', 'verify', dir, '--key', fifo]],
    [
      'bundle create (the artifact list)',
      () => [
        'bundle',
        'create',
        '--plan',
        DEMO,
        '--out',
        join(dir, 'b'),
        '--key',
        join(dir, 'k.key'),
        '--artifacts',
        fifo,
      ],
    ],
  ];
  for (const [name, args] of commands) {
    it(
      `ustart ${name} refuses it with exit 2, naming the file`,
      async () => {
        const { code, err } = await run(...args());
        expect(err).toContain(`${fifo} is a FIFO (named pipe), not a regular file`);
        expect(err).not.toContain('unexpected error');
        expect(code).toBe(2);
      },
      ANSWERS_WITHIN_MS,
    );
  }

  it(
    'the core (Electron: any absolute path) refuses it for plan:open and csv:preview',
    async () => {
      const core = createCore({ mode: 'test', stateDir: join(dir, 'state') });
      try {
        for (const result of [
          await core.client.planOpen({ file: fifo }),
          await core.client.csvPreview({ file: fifo }),
        ]) {
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.error.message).toContain(`${fifo} is a FIFO`);
        }
      } finally {
        await core.dispose();
      }
    },
    ANSWERS_WITHIN_MS,
  );
});
