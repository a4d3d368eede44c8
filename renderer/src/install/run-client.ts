/**
 * Watches one run for the Install page: attaches to the core's event stream from the last
 * sequence number this tab saw (kept in sessionStorage, so a reload re-attaches and replays
 * without a gap), applies status events to the run store, keeps each step's log on each
 * host in a bounded ring, feeds the log being viewed to its terminal, and acknowledges log
 * characters once they are shown (or stored), which is the back pressure the core's
 * engine waits on. When the core lets go of the attachment (its lease ran out while this
 * page was too busy to acknowledge), it attaches again from the last sequence number seen.
 */
import type { ApiClient, RunEventView } from '../../../src/api';
import { hostKey, useRunStore, viewOfInfo } from '../state/run-store';
import { LogRing } from './ring-buffer';

/** Characters kept per step and host, and over all of them. */
export const RING_CHARS = 512 * 1024;
export const TOTAL_CHARS = 8 * 1024 * 1024;

/** The terminal that shows one step's log on one host. */
export interface LogViewer {
  key: string;
  /** Writes text; calls `done` once the terminal has taken it in. */
  write(text: string, done: () => void): void;
}

interface Saved {
  epoch: string;
  lastSeq: number;
}

const storageKey = (runId: string) => `ustart.run.${runId}`;

function loadSaved(runId: string): Saved | undefined {
  try {
    const raw = sessionStorage.getItem(storageKey(runId));
    const v = raw ? (JSON.parse(raw) as Partial<Saved>) : undefined;
    return v && typeof v.epoch === 'string' && typeof v.lastSeq === 'number'
      ? { epoch: v.epoch, lastSeq: v.lastSeq }
      : undefined;
  } catch {
    return undefined;
  }
}

function save(runId: string, saved: Saved): void {
  try {
    sessionStorage.setItem(storageKey(runId), JSON.stringify(saved));
  } catch {
    // Storage may be off; a reload then replays from the start of the buffer.
  }
}

/** What the page shows about the stream itself (also read by the end-to-end test). */
export interface StreamStats {
  firstSeq: number | undefined;
  lastSeq: number;
  gaps: number;
  complete: boolean;
}

export class RunClient {
  private readonly rings = new Map<string, { ring: LogRing; touched: number }>();
  private viewer: LogViewer | undefined;
  private attachId: string | undefined;
  private epoch = '';
  private runId: string | undefined;
  private planFile = '';
  private off: (() => void) | undefined;
  private pendingAck = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** Batches that came before `run:attach` answered with this view's attachment id. */
  private early: { attachId: string; events: RunEventView[] }[] = [];
  private opening: Promise<void> = Promise.resolve();
  private clock = 0;
  readonly stats: StreamStats = { firstSeq: undefined, lastSeq: 0, gaps: 0, complete: true };
  private readonly statListeners = new Set<() => void>();

  constructor(private readonly api: ApiClient) {}

  onStats(listener: () => void): () => void {
    this.statListeners.add(listener);
    return () => this.statListeners.delete(listener);
  }

  /**
   * Shows run `runId`: its state from the journal, then its live events if it runs. Calls
   * are serialised, and a run already followed live is not attached twice.
   */
  open(planFile: string, runId: string): Promise<void> {
    const next = this.opening
      .catch(() => undefined)
      .then(() => {
        const live = useRunStore.getState().view;
        if (
          this.runId === runId &&
          this.attachId &&
          live?.runId === runId &&
          live.state === 'running'
        )
          return;
        return this.reopen(planFile, runId);
      });
    this.opening = next;
    return next;
  }

  private async reopen(planFile: string, runId: string): Promise<void> {
    await this.close();
    this.runId = runId;
    this.planFile = planFile;
    const info = await this.api.runGet({ planFile, runId });
    if (!info.ok) throw Object.assign(new Error(info.error.message), { code: info.error.code });
    const view = viewOfInfo(info.value);
    useRunStore.getState().show(view);
    if (!info.value.active) return;
    const saved = loadSaved(runId);
    const offEvents = this.api.on('run:events', (batch) => {
      if (batch.runId !== this.runId) return;
      if (this.attachId === undefined) this.early.push(batch);
      else if (batch.attachId === this.attachId) this.receive(batch.events);
    });
    const offDetached = this.api.on('run:detached', (d) => {
      if (d.runId === this.runId && d.attachId === this.attachId) this.reattach();
    });
    this.off = () => {
      offEvents();
      offDetached();
    };
    const attached = await this.api.runAttach({
      runId,
      sinceSeq: saved?.lastSeq ?? 0,
      ...(saved ? { epoch: saved.epoch } : {}),
    });
    if (!attached.ok) return; // It ended in between: the journal view stands.
    this.attachId = attached.value.attachId;
    this.epoch = attached.value.epoch;
    const from = saved && saved.epoch === this.epoch ? saved.lastSeq : 0;
    useRunStore.getState().show({ ...view, lastSeq: from });
    this.stats.lastSeq = from;
    this.stats.complete = attached.value.complete;
    this.receive(attached.value.events);
    this.receiveEarly();
  }

  /** Batches that raced the answer to `run:attach`: only this attachment's, in order. */
  private receiveEarly(): void {
    for (const b of this.early.splice(0)) if (b.attachId === this.attachId) this.receive(b.events);
  }

  /**
   * The core dropped this view's attachment: a new one replays from the last sequence
   * number seen, so the view goes on without a gap (or counts one when the replay buffer
   * no longer holds it).
   */
  private reattach(): void {
    const runId = this.runId!;
    const planFile = this.planFile;
    this.attachId = undefined;
    // What was not acknowledged yet belongs to the attachment that is gone.
    this.pendingAck = 0;
    const next = this.opening
      .catch(() => undefined)
      .then(async () => {
        if (this.runId !== runId || this.attachId !== undefined) return;
        const attached = await this.api.runAttach({
          runId,
          sinceSeq: this.stats.lastSeq,
          epoch: this.epoch,
        });
        if (this.runId !== runId || this.attachId !== undefined) {
          if (attached.ok) await this.api.runDetach({ attachId: attached.value.attachId });
          return;
        }
        if (!attached.ok || attached.value.epoch !== this.epoch) {
          // The run is gone from the core, or a resume restarted its sequence: start over.
          if (attached.ok) await this.api.runDetach({ attachId: attached.value.attachId });
          return this.reopen(planFile, runId);
        }
        this.attachId = attached.value.attachId;
        if (!attached.value.complete) this.stats.complete = false;
        this.receive(attached.value.events);
        this.receiveEarly();
      });
    this.opening = next;
    next.catch(() => undefined);
  }

  private receive(events: readonly RunEventView[]): void {
    const fresh = events.filter((e) => e.seq > this.stats.lastSeq);
    if (!fresh.length) return;
    for (const e of fresh) {
      this.stats.firstSeq ??= e.seq;
      if (this.stats.lastSeq > 0 && e.seq !== this.stats.lastSeq + 1)
        this.stats.gaps += e.seq - this.stats.lastSeq - 1;
      this.stats.lastSeq = e.seq;
      if (e.type === 'log') this.log(e);
    }
    useRunStore.getState().apply(fresh);
    save(this.runId!, { epoch: this.epoch, lastSeq: this.stats.lastSeq });
    for (const l of this.statListeners) l();
    // At once, not on a timer: a loaded page runs timers late, and the lease waits on this.
    this.sendAck();
  }

  private log(e: Extract<RunEventView, { type: 'log' }>): void {
    const key = hostKey(e.stepId, e.host);
    this.ring(key).push({ offset: e.offset, data: e.data });
    this.trim(key);
    const chars = e.data.length;
    const attachId = this.attachId;
    // A terminal may confirm after the attachment was replaced: that one is not owed it.
    const ack = () => attachId === this.attachId && this.ack(chars);
    if (this.viewer?.key === key) this.viewer.write(e.data, ack);
    else ack();
  }

  private ring(key: string): LogRing {
    let r = this.rings.get(key);
    if (!r) this.rings.set(key, (r = { ring: new LogRing(RING_CHARS), touched: 0 }));
    r.touched = ++this.clock;
    return r.ring;
  }

  /** Keeps the rings together under TOTAL_CHARS: the least recently written go first. */
  private trim(keep: string): void {
    let total = 0;
    for (const r of this.rings.values()) total += r.ring.size;
    if (total <= TOTAL_CHARS) return;
    const old = [...this.rings.entries()]
      .filter(([k]) => k !== keep && k !== this.viewer?.key)
      .sort((a, b) => a[1].touched - b[1].touched);
    for (const [, r] of old) {
      if (total <= TOTAL_CHARS) break;
      total -= r.ring.size;
      r.ring.clear();
    }
  }

  private ack(chars: number): void {
    this.pendingAck += chars;
    // What terminals confirm: one request per frame or so, not one per chunk.
    this.ackTimer ??= setTimeout(() => this.sendAck(), 16);
  }

  private sendAck(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const n = this.pendingAck;
    this.pendingAck = 0;
    if (this.attachId && n > 0) void this.api.runAck({ attachId: this.attachId, chars: n });
  }

  /** The ring of a step on a host (empty when nothing arrived yet). */
  logOf(stepId: string, host: string): LogRing {
    return this.rings.get(hostKey(stepId, host))?.ring ?? new LogRing(RING_CHARS);
  }

  /** From now on, new log text of `viewer.key` goes to that terminal. */
  view(viewer: LogViewer | undefined): void {
    this.viewer = viewer;
  }

  async close(): Promise<void> {
    this.off?.();
    this.off = undefined;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.attachId && this.pendingAck) {
      void this.api.runAck({ attachId: this.attachId, chars: this.pendingAck });
    }
    this.pendingAck = 0;
    const id = this.attachId;
    this.attachId = undefined;
    // A re-attach still queued then finds no run to follow.
    this.runId = undefined;
    this.early = [];
    this.rings.clear();
    Object.assign(this.stats, { firstSeq: undefined, lastSeq: 0, gaps: 0, complete: true });
    if (id) await this.api.runDetach({ attachId: id });
  }
}
