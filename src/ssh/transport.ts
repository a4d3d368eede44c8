/**
 * The port between the run engine and the hosts it drives (STYLE.md, "Ports and
 * adapters"). The engine depends only on these interfaces; `Ssh2Transport` implements
 * them over ssh2 against real servers, the demo lab and the test lab alike.
 */
import type { ShellChannel, ShellOptions } from './interactive-shell.js';

/** Where and as whom to connect. Built from the plan (servers[].ssh, access) and ~/.ssh/config. */
export interface HostTarget {
  /** The plan's host name, used in messages, logs and events. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** Private keys to try for this host (from ~/.ssh/config's IdentityFile), before the defaults. */
  identityFiles?: string[];
  /** Jump host this connection goes through, with its own credentials and host-key check. */
  jump?: Omit<HostTarget, 'jump'>;
}

/** How an exec ended. A missing exit status is `unknown`, never success. */
export type ExecOutcome =
  | { kind: 'exited'; code: number }
  | { kind: 'signalled'; signal: string }
  | {
      kind: 'timeout';
      /** The remote process group was killed and confirmed gone. */
      remoteKilled?: boolean;
    }
  | {
      kind: 'cancelled';
      /** The remote process group was killed and confirmed gone. */
      remoteKilled?: boolean;
    }
  | { kind: 'connection-lost'; message: string }
  | { kind: 'unknown' };

export interface ExecOptions {
  /**
   * Bytes fed to the command's stdin, then stdin is closed. Never logged. An async iterable
   * is streamed with back pressure (a bundle's tar stream); if it throws, the channel is
   * closed and the caller, who owns the iterable, reports its error.
   */
  stdin?: string | Uint8Array | AsyncIterable<Uint8Array>;
  /** Run through sudo; the password (from the credential store) is fed on stdin behind a random prompt. */
  sudo?: boolean;
  /** Hard limit: the remote process is killed and the outcome is `timeout`. */
  timeoutMs?: number;
  /** Cancel: the remote process is killed and the outcome is `cancelled`. */
  signal?: AbortSignal;
  onStdout?: (chunk: Uint8Array) => void;
  onStderr?: (chunk: Uint8Array) => void;
  /**
   * Back pressure from the consumer (the run engine's log pipeline): while `paused` is true
   * the adapter stops reading stdout/stderr (ssh2: `stream.pause()`), so the remote process
   * blocks on a full pipe instead of the laptop buffering without bound. Optional: an
   * adapter that ignores it still works, without back pressure.
   */
  flow?: FlowControl;
}

/** A pause/resume switch the consumer of an exec's output flips; see ExecOptions.flow. */
export interface FlowControl {
  readonly paused: boolean;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  onChange(listener: (paused: boolean) => void): () => void;
}

export interface UploadOptions {
  /** File mode at the destination, such as 0o644. */
  mode?: number;
  /** Owner at the destination (`user:group`), set with sudo when given. */
  owner?: string;
  signal?: AbortSignal;
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** One open SSH connection to one host. */
export interface HostConnection {
  readonly target: HostTarget;
  exec(command: string, options?: ExecOptions): Promise<ExecOutcome>;
  /**
   * Uploads to a temp path beside `remotePath`, checks the sha256 on the remote side, then
   * renames atomically: the destination never holds a partial file.
   */
  upload(source: string | Uint8Array, remotePath: string, options?: UploadOptions): Promise<void>;
  /** Resolves when the connection closes, with why. */
  readonly closed: Promise<{ reason: 'closed' | 'lost'; message?: string }>;
  /** An interactive PTY shell (the UI's Terminals); adapters without one leave it out. */
  shell?(options: ShellOptions): Promise<ShellChannel>;
  close(): Promise<void>;
}

export interface Transport {
  connect(target: HostTarget, options?: { signal?: AbortSignal }): Promise<HostConnection>;
  /** Closes every connection this transport opened. */
  dispose(): Promise<void>;
}
