/**
 * The local terminal for real: node-pty built for this Node (.ci/run builds it), a shell in
 * a pseudo-terminal, typed into and read back, resized, exited, closed; and the same through
 * the core's api as the Terminals tab uses it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unwrap } from '../api/index.js';
import { createCore, type Core } from './core.js';
import { ptyTerminals } from './local-terminal.js';
import type { LocalTerminal } from './shells.js';

const SHELL = { shell: '/bin/sh', env: { ...process.env, PS1: '$ ', ENV: '' } };

/** Everything a terminal printed, and a promise for the moment it prints `text`. */
function reader(term: LocalTerminal) {
  let out = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  term.onData((data) => {
    out += data;
    for (const w of [...waiting]) {
      if (out.includes(w.text)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  return {
    get text() {
      return out;
    },
    shows: (text: string) =>
      out.includes(text)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.push({ text, resolve })),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

describe('a local terminal through node-pty', () => {
  const opened: LocalTerminal[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) {
      t.close();
      await t.exited;
    }
  });
  const open = async (cols: number, rows: number) => {
    const term = (await ptyTerminals(SHELL)({ cols, rows })) as LocalTerminal & { pid: number };
    opened.push(term);
    return term;
  };

  it('runs what is typed, answers a resize, and reports how the shell exited', async () => {
    const term = await open(80, 24);
    const out = reader(term);
    // The sum is worked out by the shell, so the echo of the typed line cannot match.
    term.write('echo "HELLO-$((6*7))"\n');
    await out.shows('HELLO-42');
    term.write('stty size\n');
    await out.shows('24 80');
    term.resize(100, 30);
    term.write('stty size\n');
    await out.shows('30 100');
    term.write('exit 3\n');
    expect(await term.exited).toEqual({ code: 3, signal: null });
  });

  it('ends the shell and its process on close', async () => {
    const term = await open(80, 24);
    const out = reader(term);
    // tr makes the "=" appear only in the output, not in the echo of the typed line.
    term.write('echo "pid:$$" | tr : =\n');
    await out.shows('pid=');
    const pid = Number(/pid=(\d+)/.exec(out.text)![1]);
    expect(pid).toBe(term.pid);
    expect(alive(pid)).toBe(true);
    term.close();
    expect(await term.exited).toEqual({ code: null, signal: '1' });
    expect(alive(pid)).toBe(false);
    // Writing to a closed terminal is a no-op, not a crash.
    term.write('echo late\n');
    term.resize(10, 10);
  });
});

describe('a local terminal through the core’s api', () => {
  let dir: string;
  let core: Core;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-pty-'));
    core = createCore({
      mode: 'test',
      stateDir: join(dir, 'state'),
      root: dir,
      hostPages: { localTerminals: ptyTerminals({ ...SHELL, cwd: dir }) },
    });
  });
  afterEach(async () => {
    await core.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams shell:data, takes input, and emits shell:exit when closed', async () => {
    const { shellId } = unwrap(await core.client.shellOpenLocal({ cols: 80, rows: 24 }));
    let out = '';
    const printed = new Promise<void>((resolve) => {
      const off = core.client.on('shell:data', (e) => {
        if (e.shellId !== shellId) return;
        out += e.data;
        if (out.includes(`in ${dir}`)) {
          off();
          resolve();
        }
      });
    });
    const exited = new Promise<unknown>((resolve) => {
      const off = core.client.on('shell:exit', (e) => {
        if (e.shellId !== shellId) return;
        off();
        resolve(e);
      });
    });
    unwrap(await core.client.shellWrite({ shellId, data: 'echo "in $(pwd)"\n' }));
    await printed;
    unwrap(await core.client.shellResize({ shellId, cols: 120, rows: 40 }));
    unwrap(await core.client.shellClose({ shellId }));
    expect(await exited).toMatchObject({ shellId, code: null, signal: '1' });
    const again = await core.client.shellWrite({ shellId, data: 'x' });
    expect(again.ok).toBe(false);
  });
});
