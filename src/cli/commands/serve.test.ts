import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../../bin/ustart.mjs');
let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  child = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Collects a stream until `pattern` matches, or rejects when the process ends first. */
function waitFor(proc: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp) {
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    let text = '';
    proc[stream]!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const m = pattern.exec(text);
      if (m) resolve(m);
    });
    proc.once('exit', (code) => reject(new Error(`ustart serve exited (${code}): ${text}`)));
  });
}

describe('ustart serve', () => {
  it('prints a URL with a token, warns when exposed, serves the page, and stops on SIGTERM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-serve-'));
    child = spawn(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--host', '0.0.0.0', '--root', dir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'config'), NO_COLOR: '1' },
      },
    );
    const warning = waitFor(child, 'stderr', /warning: listening on 0\.0\.0\.0/);
    const [, url] = await waitFor(
      child,
      'stdout',
      /open: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)\n/,
    );
    await warning;
    const page = await fetch(url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    expect((await fetch(url!.replace(/\?token=.*/, ''))).status).toBe(403);
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
