/**
 * Issue 16, finding 10: the password prompt of `ustart run` was printed before echo was
 * turned off, so what a user typed as soon as the prompt showed could echo. Run in a real
 * pseudo-terminal (node-pty): the typed password must not come back.
 */
import { join } from 'node:path';
import { spawn, type IPty } from 'node-pty';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('the terminal password prompt', () => {
  it('has echo off before the prompt shows, so a password typed at once never echoes', async () => {
    let pty: IPty | undefined;
    try {
      pty = spawn(
        process.execPath,
        [join(ROOT, 'bin', 'run-ts.mjs'), join(ROOT, 'test', 'support', 'password-prompt.ts')],
        { cols: 120, rows: 20, cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } },
      );
      const child = pty;
      let seen = '';
      const got = await new Promise<string>((resolve, reject) => {
        let typed = false;
        child.onData((data) => {
          seen += data;
          if (!typed && seen.includes('password of root@h1: ')) {
            typed = true; // the user types the moment the prompt shows
            child.write('hunter2\r');
          }
          const done = /GOT (-?\d+)/.exec(seen);
          if (done) resolve(done[1]!);
        });
        child.onExit(({ exitCode }) => {
          if (!/GOT/.test(seen)) reject(new Error(`the prompt exited ${exitCode}: ${seen}`));
        });
      });
      expect(got).toBe('7');
      expect(seen).not.toContain('hunter2');
    } finally {
      pty?.kill();
    }
  }, 30_000);
});
