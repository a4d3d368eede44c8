/**
 * scripts/electron-binary.mjs, run as `npm start` runs it, in `--where --no-download` mode so
 * no test downloads Electron: where it finds a binary, and what it says when there is none.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '../../scripts/electron-binary.mjs');

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'ustart-electron-binary-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function where(env: Record<string, string>): Promise<Outcome> {
  // PATH is an empty folder so a system electron on the test machine is not found.
  const base: Record<string, string> = { HOME: work, PATH: join(work, 'empty-path') };
  return new Promise((done) => {
    execFile(
      process.execPath,
      [SCRIPT, '--where', '--no-download'],
      { env: { ...base, ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

describe('scripts/electron-binary.mjs', () => {
  it('finds the binary in ELECTRON_OVERRIDE_DIST_PATH, the electron package own override', async () => {
    const dist = join(work, 'dist');
    await mkdir(dist);
    const binary = join(dist, process.platform === 'win32' ? 'electron.exe' : 'electron');
    await writeFile(binary, '#!/bin/sh\necho v0\n');
    await chmod(binary, 0o755);
    const out = await where({ ELECTRON_OVERRIDE_DIST_PATH: dist });
    expect(out.code).toBe(0);
    expect(out.stdout.trim()).toBe(binary);
  });

  it('says what to do when there is no binary, and that the CLI and tests need none', async () => {
    const empty = join(work, 'nothing-here');
    await mkdir(empty);
    const out = await where({ ELECTRON_OVERRIDE_DIST_PATH: empty });
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('no Electron binary found (no download tried: --no-download)');
    expect(out.stderr).toContain('`npx ustart demo`');
    expect(out.stderr).toContain('ELECTRON_MIRROR=');
    expect(out.stderr).toMatch(/electron-v\d+\.\d+\.\d+-\w+-\w+\.zip/);
  });

  it('names a wrong ELECTRON_EXEC_PATH instead of looking elsewhere', async () => {
    const missing = join(work, 'no-such-electron');
    const out = await where({ ELECTRON_EXEC_PATH: missing });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`ELECTRON_EXEC_PATH is set to ${missing}, which does not exist`);
  });
});
