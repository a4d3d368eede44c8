/**
 * A terminal on the consultant's computer for the desktop app's Terminals tab, through
 * node-pty. node-pty is native: it is loaded on first use, so an app whose node-pty was not
 * built for its Electron says so when a local terminal is asked for, and nothing else breaks.
 */
import { homedir } from 'node:os';
import type * as NodePty from 'node-pty';
import type { LocalTerminals } from '../src/app/index.js';

function defaultShell(): string {
  if (process.platform === 'win32') return process.env.COMSPEC ?? 'powershell.exe';
  return process.env.SHELL ?? '/bin/bash';
}

export function nodePtyTerminals(): LocalTerminals {
  return async ({ cols, rows }) => {
    let pty: typeof NodePty;
    try {
      pty = await import('node-pty');
    } catch (e) {
      throw Object.assign(
        new Error(
          `the local terminal needs node-pty built for this Electron (${(e as Error).message}); rebuild it with "npx electron-builder install-app-deps".`,
        ),
        { code: 'Unsupported' },
      );
    }
    const proc = pty.spawn(defaultShell(), [], {
      name: 'xterm-256color',
      cols,
      rows,
      cwd: homedir(),
      env: process.env as Record<string, string>,
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      proc.onExit(({ exitCode, signal }) =>
        resolve({ code: exitCode, signal: signal ? String(signal) : null }),
      ),
    );
    return {
      write: (data) => proc.write(data),
      resize: (c, r) => proc.resize(c, r),
      pause: () => proc.pause(),
      resume: () => proc.resume(),
      onData: (listener) => void proc.onData(listener),
      exited,
      close: () => proc.kill(),
    };
  };
}
