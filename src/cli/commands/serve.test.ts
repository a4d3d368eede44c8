import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';

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

  it('closes the demo lab it started when a later step fails (no temp folder for the UI build or the browser page)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-serve-fail-'));
    // A file as the temp folder: after the demo lab starts (in --dir), the UI build (when
    // out/renderer is stale) or the browser's redirect page (--open) cannot be written.
    const notADir = join(dir, 'not-a-dir');
    await writeFile(notADir, '');
    const said: string[] = [];
    const out = {
      stdout: (t: string) => said.push(t),
      stderr: (t: string) => said.push(t),
      color: false,
      isTTY: false,
    };
    const before = process.env.TMPDIR;
    process.env.TMPDIR = notADir;
    let code: number;
    try {
      code = await main(
        ['node', 'ustart', 'serve', '--demo', '--dir', join(dir, 'demo'), '--open', '--root', dir],
        out,
      );
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
    expect(code, said.join('')).not.toBe(0);
    // Every lab port the demo wrote into its known_hosts is closed again.
    const ports = [
      ...(await readFile(join(dir, 'demo', 'known_hosts'), 'utf8')).matchAll(/\]:(\d+) /g),
    ].map((m) => Number(m[1]));
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      expect(refused, `port ${port}`).toBe(true);
    }
  }, 120_000);
});
