/**
 * The Terminals tab's core: interactive SSH shells on planned hosts (same access settings
 * and host-key rules as runs), and in Electron a terminal on the laptop through a port the
 * main process implements with node-pty. Output goes to the fronts as `shell:data` batches;
 * when a front falls behind by 100,000 characters the source is paused until it catches up.
 */
import { randomBytes } from 'node:crypto';
import type { FrontEvents } from '../api/index.js';
import { UstartError, messageOf } from '../errors.js';
import type { ShellChannel } from '../ssh/interactive-shell.js';
import type { Access } from './access.js';
import type { RunService } from './runs.js';

/** A terminal on the laptop (Electron: node-pty in main/). */
export interface LocalTerminal {
  write(data: string): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  onData(listener: (text: string) => void): void;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  close(): void;
}

/** Opens local terminals; absent in browser mode, where the laptop is not the server. */
export type LocalTerminals = (size: { cols: number; rows: number }) => Promise<LocalTerminal>;

const HIGH = 100_000;
const LOW = 5_000;
const BATCH_MS = 8;

interface Open {
  channel: ShellChannel | LocalTerminal;
  unacked: number;
  paused: boolean;
  pending: string;
  timer: NodeJS.Timeout | undefined;
  dispose: () => Promise<void>;
}

export class ShellService {
  private readonly shells = new Map<string, Open>();

  constructor(
    private readonly events: FrontEvents,
    private readonly access: Access,
    private readonly runs: RunService,
    private readonly resolvePath: (file: string) => string,
    private readonly local?: LocalTerminals,
  ) {}

  async open(planFile: string, host: string, cols: number, rows: number): Promise<string> {
    const abs = this.resolvePath(planFile);
    const { plan } = await this.runs.loadPlan(abs);
    const target = (await this.access.targets(abs, plan)).get(host);
    if (!target) throw new UstartError('InvalidArgument', `${host} is not a server of ${abs}.`);
    const transport = await this.access.transport(abs, plan);
    try {
      const conn = await transport.connect(target);
      if (!conn.shell) {
        throw new UstartError(
          'Unsupported',
          `the transport to ${host} offers no interactive shell.`,
        );
      }
      const channel = await conn.shell({ cols, rows });
      return this.track(channel, async () => {
        channel.close();
        await conn.close();
        await transport.dispose();
      });
    } catch (e) {
      await transport.dispose();
      throw e;
    }
  }

  async openLocal(cols: number, rows: number): Promise<string> {
    if (!this.local) {
      throw new UstartError(
        'Unsupported',
        'a terminal on this computer exists in the desktop app only; in browser mode use a host shell.',
      );
    }
    const term = await this.local({ cols, rows });
    return this.track(term, async () => term.close());
  }

  private track(channel: ShellChannel | LocalTerminal, dispose: () => Promise<void>): string {
    const shellId = randomBytes(8).toString('hex');
    const entry: Open = {
      channel,
      unacked: 0,
      paused: false,
      pending: '',
      timer: undefined,
      dispose,
    };
    this.shells.set(shellId, entry);
    const flush = () => {
      entry.timer = undefined;
      if (!entry.pending) return;
      const data = entry.pending;
      entry.pending = '';
      this.events.emit('shell:data', { shellId, data });
    };
    channel.onData((text) => {
      entry.pending += text;
      entry.unacked += text.length;
      if (!entry.paused && entry.unacked > HIGH) {
        entry.paused = true;
        channel.pause();
      }
      entry.timer ??= setTimeout(flush, BATCH_MS);
    });
    void channel.exited.then(
      async ({ code, signal }) => {
        if (entry.timer) clearTimeout(entry.timer);
        flush();
        this.shells.delete(shellId);
        this.events.emit('shell:exit', { shellId, code, signal });
        await dispose().catch(() => undefined);
      },
      (e: unknown) => {
        this.shells.delete(shellId);
        this.events.emit('shell:exit', {
          shellId,
          code: null,
          signal: null,
          message: messageOf(e),
        });
      },
    );
    return shellId;
  }

  private get(shellId: string): Open {
    const s = this.shells.get(shellId);
    if (!s) throw new UstartError('InvalidArgument', `shell ${shellId} is closed; open a new one.`);
    return s;
  }

  write(shellId: string, data: string): void {
    this.get(shellId).channel.write(data);
  }

  resize(shellId: string, cols: number, rows: number): void {
    this.get(shellId).channel.resize(cols, rows);
  }

  ack(shellId: string, chars: number): void {
    const s = this.shells.get(shellId);
    if (!s) return;
    s.unacked = Math.max(0, s.unacked - chars);
    if (s.paused && s.unacked < LOW) {
      s.paused = false;
      s.channel.resume();
    }
  }

  async close(shellId: string): Promise<void> {
    const s = this.shells.get(shellId);
    if (!s) return;
    this.shells.delete(shellId);
    if (s.timer) clearTimeout(s.timer);
    await s.dispose();
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.shells.keys()].map((id) => this.close(id)));
  }
}
