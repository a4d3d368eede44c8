import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUstartError } from '../errors.js';
import { envFile, shellQuote } from './env-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-shell-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Sources `text` in a real bash and returns each named variable's value(s), NUL-separated. */
async function sourced(text: string, names: string[]): Promise<string[]> {
  const file = join(dir, 'env');
  await writeFile(file, text);
  const script = `set -euo pipefail; . "$1"; shift; for n in "$@"; do declare -n ref="$n"; printf '%s\\0' "\${ref[@]}"; unset -n ref; done`;
  const result = spawnSync('bash', ['-c', script, 'bash', file, ...names], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout.split('\0').slice(0, -1);
}

const anyText = fc
  .oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.constantFrom(...`'"\\$\`!*?[]{}()<>|&;#~ \t\n-=%,.:@+`) }),
  )
  .filter((s) => !s.includes('\0'));

describe('shellQuote', () => {
  it('round-trips any text through a real bash unchanged', async () => {
    const values = fc.sample(anyText, { numRuns: 300, seed: 42 });
    values.push('', "'", "it's", '$(touch pwned)', '`id`', '-n', 'a b', '\n', 'é ü 中 😀');
    const vars = values.map((v, i) => [`V${i}`, v] as const);
    const out = await sourced(
      envFile(vars),
      vars.map(([n]) => n),
    );
    expect(out).toEqual(values);
  });

  it('leaves plain words bare and quotes everything else', () => {
    expect(shellQuote('10.10.0.0/24')).toBe('10.10.0.0/24');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('~root')).toBe("'~root'");
  });

  it('refuses a NUL character, which no shell variable can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});

describe('envFile', () => {
  it('writes bash arrays that keep each element whole', async () => {
    const list = ['/dev/nvme0n1', 'two words', "quote'd", ''];
    const out = await sourced(envFile([['LIST', list]], 'header line'), ['LIST']);
    expect(out).toEqual(list);
  });

  it('refuses a variable name that would be a command', () => {
    let thrown: unknown;
    try {
      envFile([['X; rm -rf /', 'a']]);
    } catch (e) {
      thrown = e;
    }
    expect(isUstartError(thrown, 'InvalidArgument')).toBe(true);
  });
});
