/**
 * A Transport that runs each command as a LOCAL `bash -c` child process: real processes,
 * real files, no SSH. The engine's unit tests use it to test scheduling, journal, logs and
 * flow control fast; the SSH path itself is tested against the lab through Ssh2Transport.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  ExecOptions,
  ExecOutcome,
  HostConnection,
  HostTarget,
  Transport,
} from '../../src/ssh/transport.js';

export interface LocalTransportOptions {
  /** Extra environment for every command (HOST is always set to the host name). */
  env?: Record<string, string>;
}

export class LocalTransport implements Transport {
  readonly connections: LocalConnection[] = [];
  /** Every command line it was asked to run, to check that no secret reached argv. */
  readonly commands: string[] = [];
  /** How often a command's output was paused by flow control. */
  pauses = 0;

  constructor(private readonly options: LocalTransportOptions = {}) {}

  async connect(target: HostTarget): Promise<HostConnection> {
    const c = new LocalConnection(target, this, this.options.env ?? {});
    this.connections.push(c);
    return c;
  }

  /** Simulates a dropped link to `host`: its commands end `connection-lost`. */
  cutLink(host: string): void {
    for (const c of this.connections) if (c.target.name === host) c.lose();
  }

  async dispose(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
  }
}

class LocalConnection implements HostConnection {
  readonly closed: Promise<{ reason: 'closed' | 'lost'; message?: string }>;
  private resolveClosed!: (v: { reason: 'closed' | 'lost'; message?: string }) => void;
  private readonly running = new Set<(why: 'lost' | 'closed') => void>();
  private isClosed = false;

  constructor(
    readonly target: HostTarget,
    private readonly transport: LocalTransport,
    private readonly env: Record<string, string>,
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecOutcome> {
    if (this.isClosed) return Promise.resolve({ kind: 'connection-lost', message: 'closed' });
    this.transport.commands.push(command);
    return new Promise((resolve) => {
      // Its own process group, so a kill takes the whole command tree like sshd does.
      const child = spawn('bash', ['-c', command], {
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...this.env, HOST: this.target.name },
      });
      let ending: ExecOutcome | undefined;
      const killGroup = (why: ExecOutcome) => {
        ending ??= why;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      };
      const timer = options.timeoutMs
        ? setTimeout(() => killGroup({ kind: 'timeout', remoteKilled: true }), options.timeoutMs)
        : undefined;
      // SIGKILL to the whole group, and the outcome comes once the child is gone: confirmed.
      const onAbort = () => killGroup({ kind: 'cancelled', remoteKilled: true });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) onAbort();
      const onLost = (why: 'lost' | 'closed') =>
        killGroup({ kind: 'connection-lost', message: `link ${why}` });
      this.running.add(onLost);
      const applyFlow = (paused: boolean) => {
        if (paused) {
          this.transport.pauses++;
          child.stdout.pause();
          child.stderr.pause();
        } else {
          child.stdout.resume();
          child.stderr.resume();
        }
      };
      const unsubscribe = options.flow?.onChange(applyFlow);
      child.stdout.on('data', (c: Buffer) => options.onStdout?.(c));
      child.stderr.on('data', (c: Buffer) => options.onStderr?.(c));
      if (options.flow?.paused) applyFlow(true);
      child.stdin.on('error', () => undefined);
      const input = options.stdin ?? '';
      if (typeof input === 'string' || input instanceof Uint8Array) child.stdin.end(input);
      else void pipeline(Readable.from(input), child.stdin).catch(() => child.kill());
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        unsubscribe?.();
        this.running.delete(onLost);
        resolve(
          ending ??
            (code !== null
              ? { kind: 'exited', code }
              : signal
                ? { kind: 'signalled', signal }
                : { kind: 'unknown' }),
        );
      });
    });
  }

  async upload(source: string | Uint8Array, remotePath: string, options: { mode?: number } = {}) {
    const bytes = typeof source === 'string' ? await readFile(source) : source;
    await mkdir(dirname(remotePath), { recursive: true });
    await writeFile(`${remotePath}.tmp`, bytes);
    if (options.mode !== undefined) await chmod(`${remotePath}.tmp`, options.mode);
    await rename(`${remotePath}.tmp`, remotePath);
  }

  lose(): void {
    for (const r of [...this.running]) r('lost');
    this.isClosed = true;
    this.resolveClosed({ reason: 'lost', message: 'link cut' });
  }

  async close(): Promise<void> {
    for (const r of [...this.running]) r('closed');
    this.isClosed = true;
    this.resolveClosed({ reason: 'closed' });
  }
}
