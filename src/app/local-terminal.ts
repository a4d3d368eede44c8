/**
 * A terminal on the consultant's own computer (the Terminals tab's local tab) through
 * node-pty. node-pty is native and ships no Linux prebuild: it is loaded on first use, so a
 * runtime whose node-pty was not built for it says so when a local terminal is asked for,
 * and nothing else breaks. The desktop app wires this in main/; browser mode does not offer
 * it, since there the page may be on another machine than the shell.
 */
import { homedir } from 'node:os';
import type * as NodePty from 'node-pty';
import { UstartError, messageOf } from '../errors.js';
import type { LocalTerminal, LocalTerminals } from './shells.js';

export interface PtyTerminalOptions {
  /** The program to run; default `$SHELL` (`%COMSPEC%` on Windows), else /bin/bash. */
  shell?: string;
  args?: string[];
  /** Default: the home folder. */
  cwd?: string;
  /** Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  /**
   * How to build node-pty for the runtime at hand, told when it cannot be loaded (Electron:
   * `npx electron-builder install-app-deps`; Node: `node-gyp rebuild` in node_modules/node-pty).
   */
  rebuildHint?: string;
}

const NODE_HINT =
  'build it for this Node with "npx node-gyp rebuild" in node_modules/node-pty (needs g++, make and python3)';

function defaultShell(): string {
  if (process.platform === 'win32') return process.env.COMSPEC ?? 'powershell.exe';
  return process.env.SHELL || '/bin/bash';
}

/** Drops unset variables: node-pty passes every value to the child as a string. */
function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

let loaded: Promise<typeof NodePty> | undefined;

async function loadPty(hint: string): Promise<typeof NodePty> {
  loaded ??= import('node-pty');
  try {
    return await loaded;
  } catch (e) {
    loaded = undefined;
    throw new UstartError(
      'Unsupported',
      `the local terminal needs node-pty built for this runtime (${messageOf(e)}); ${hint}. Host shells work without it.`,
      { cause: e },
    );
  }
}

/** Opens local terminals with node-pty, each one a child process in its own pseudo-terminal. */
export function ptyTerminals(options: PtyTerminalOptions = {}): LocalTerminals {
  return async ({ cols, rows }) => {
    const pty = await loadPty(options.rebuildHint ?? NODE_HINT);
    const proc = pty.spawn(options.shell ?? defaultShell(), options.args ?? [], {
      name: 'xterm-256color',
      cols,
      rows,
      cwd: options.cwd ?? homedir(),
      env: definedEnv(options.env ?? process.env),
    });
    return wrap(proc);
  };
}

function wrap(proc: NodePty.IPty): LocalTerminal & { readonly pid: number } {
  let ended = false;
  const listeners: NodePty.IDisposable[] = [];
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    listeners.push(
      proc.onExit(({ exitCode, signal }) => {
        ended = true;
        for (const l of listeners.splice(0)) l.dispose();
        // node-pty reports signal 0 for a normal exit.
        resolve({ code: signal ? null : exitCode, signal: signal ? String(signal) : null });
      }),
    );
  });
  return {
    pid: proc.pid,
    write: (data) => {
      if (!ended) proc.write(data);
    },
    resize: (c, r) => {
      if (!ended) proc.resize(c, r);
    },
    pause: () => proc.pause(),
    resume: () => proc.resume(),
    onData: (listener) => void listeners.push(proc.onData(listener)),
    exited,
    close: () => {
      // SIGHUP, as a terminal window closing sends; the shell passes it to its jobs.
      if (!ended) proc.kill('SIGHUP');
    },
  };
}
