/**
 * Logs collected from one host over SSH for the log bundle: journald of the services the
 * runbook installs, the kernel log, and uStart's own `/var/log/ustart`. Each item is
 * streamed through the redactor into a staging file; nothing unredacted touches the disk.
 *
 * A host that cannot be reached, refuses the login, or lacks journalctl is recorded, never
 * fatal: the bundle is most needed exactly when hosts misbehave.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { dirname, join } from 'node:path';
import { isUstartError, messageOf } from '../errors.js';
import { shQuote } from '../ssh/remote-exec.js';
import type {
  ExecOutcome,
  FlowControl,
  HostConnection,
  HostTarget,
  Transport,
} from '../ssh/transport.js';
import type { BundleRedactor } from './redact.js';

/**
 * systemd units whose journal is collected from every host: what the default runbook
 * installs (assets/runbook/scripts/umetal). A runbook that installs more passes its own
 * through `LogBundleHosts.units`; they are added to these.
 */
export const HOST_LOG_UNITS: readonly string[] = ['kubelet', 'containerd', 'chrony'];

/** uStart's own log folder on a host; every file below it is collected. */
export const USTART_LOG_DIR = '/var/log/ustart';

/** Lines of the kernel log kept (its ring buffer holds the recent past only anyway). */
export const KERNEL_LOG_LINES = 5_000;

/** At most this many bytes per collected item; the rest is cut and the item marked `truncated`. */
export const MAX_ITEM_BYTES = 256 * 1024 * 1024;

/** Files from the host's log folder are collected up to this count. */
const MAX_LOG_DIR_FILES = 500;

const UNIT_NAME = /^[A-Za-z0-9@._:\\-]+$/;

/** Our own exit code for "not there": the log folder is absent. */
const ABSENT = 3;

/**
 * Becomes root without a password where it can (`sudo -n`), so journald shows every unit.
 * Every host command of the collection starts with it (the demo hosts recognise it).
 */
export const AS_ROOT = `S=; [ "$(id -u)" = 0 ] || { sudo -n true 2>/dev/null && S='sudo -n'; };`;

export interface HostItemResult {
  /** Path under `hosts/<host>/` in the bundle. */
  path: string;
  /** What was run, for the support engineer reading the manifest. */
  source: string;
  status: 'collected' | 'absent' | 'failed';
  bytes?: number;
  truncated?: boolean;
  /** Why it failed or is absent, or what the command said on stderr. */
  message?: string;
}

export interface HostResult {
  host: string;
  address?: string;
  /** `collected`: every item collected or absent; `partial`: some failed; `failed`: none. */
  status: 'collected' | 'partial' | 'failed';
  /** Why the host could not be collected from at all (connect, login, timeout). */
  error?: { code: string; message: string };
  items: HostItemResult[];
}

export interface HostCollectOptions {
  transport: Transport;
  target: HostTarget;
  /** Files go to `<stagingDir>/<item path>`. */
  stagingDir: string;
  redactor: BundleRedactor;
  /** journald entries from this time on (epoch ms). */
  since: number;
  units: readonly string[];
  logDir?: string;
  kernelLines?: number;
  maxItemBytes?: number;
  /** The whole host's collection, connect included, ends after this. */
  timeoutMs: number;
  signal?: AbortSignal;
  onItem?: (item: HostItemResult) => void;
}

interface Item {
  path: string;
  source: string;
  command: string;
}

/** Collects one host's logs into `stagingDir`. Never throws for a host problem. */
export async function collectHostLogs(o: HostCollectOptions): Promise<HostResult> {
  const result: HostResult = {
    host: o.target.name,
    address: o.target.address,
    status: 'collected',
    items: [],
  };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), o.timeoutMs);
  const onAbort = () => deadline.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) deadline.abort();
  const why = () =>
    o.signal?.aborted
      ? { code: 'Cancelled', message: 'the collection was cancelled' }
      : {
          code: 'CommandTimeout',
          message: `no answer within ${Math.round(o.timeoutMs / 1000)} s; the host is slow or the link dropped`,
        };
  let conn: HostConnection | undefined;
  try {
    try {
      conn = await o.transport.connect(o.target, { signal: deadline.signal });
    } catch (e) {
      result.status = 'failed';
      result.error = deadline.signal.aborted
        ? why()
        : { code: isUstartError(e) ? e.code : 'ConnectionFailed', message: messageOf(e) };
      return result;
    }
    const record = (item: HostItemResult) => {
      result.items.push(item);
      o.onItem?.(item);
    };
    let lost = false;
    const notRun = (item: Pick<Item, 'path' | 'source'>) =>
      record({
        path: item.path,
        source: item.source,
        status: 'failed',
        message: lost ? 'not collected: the connection was lost' : why().message,
      });
    const runAll = async (items: readonly Item[]) => {
      for (const item of items) {
        if (lost || deadline.signal.aborted) {
          notRun(item);
          continue;
        }
        const done = await runItem(conn!, item, o, deadline.signal, why);
        lost = done.lost;
        record(done.item);
      }
    };
    await runAll([...unitItems(o), kernelItem(o)]);
    if (lost || deadline.signal.aborted) {
      notRun({ path: 'ustart-logs/', source: o.logDir ?? USTART_LOG_DIR });
    } else {
      await runAll(await logDirItems(conn, o, deadline.signal, record));
    }
    if (deadline.signal.aborted) result.error = why();
    const failed = result.items.some((i) => i.status === 'failed');
    result.status = !failed
      ? 'collected'
      : result.items.some((i) => i.status === 'collected')
        ? 'partial'
        : 'failed';
    return result;
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    await conn?.close().catch(() => undefined);
  }
}

function unitItems(o: HostCollectOptions): Item[] {
  const since = Math.floor(o.since / 1000);
  return [...new Set(o.units)].map((unit) => {
    if (!UNIT_NAME.test(unit)) throw new Error(`not a systemd unit name: ${unit}`);
    return {
      path: `journal/${unit}.log`,
      source: `journalctl -u ${unit} --since @${since} --no-pager -o short-iso`,
      command: `${AS_ROOT} command -v journalctl >/dev/null 2>&1 || exit 127; exec $S journalctl -u ${shQuote(unit)} --since @${since} --no-pager -o short-iso`,
    };
  });
}

function kernelItem(o: HostCollectOptions): Item {
  const n = o.kernelLines ?? KERNEL_LOG_LINES;
  return {
    path: 'kernel.log',
    source: `dmesg --time-format iso | tail -n ${n}`,
    // Older dmesg lacks --time-format; then the raw timestamps are better than nothing.
    command: `${AS_ROOT} command -v dmesg >/dev/null 2>&1 || exit 127
if $S dmesg --time-format iso >/dev/null 2>&1; then $S dmesg --time-format iso | tail -n ${n}
else $S dmesg | tail -n ${n}; fi`,
  };
}

/** Lists the host's uStart log folder; one item per file. */
async function logDirItems(
  conn: HostConnection,
  o: HostCollectOptions,
  signal: AbortSignal,
  record: (item: HostItemResult) => void,
): Promise<Item[]> {
  const dir = o.logDir ?? USTART_LOG_DIR;
  let listing = '';
  let stderr = '';
  const outcome = await conn.exec(
    `${AS_ROOT} [ -d ${shQuote(dir)} ] || exit ${ABSENT}; $S find ${shQuote(dir)} -type f | head -n ${MAX_LOG_DIR_FILES}`,
    {
      signal,
      onStdout: (c) => (listing += Buffer.from(c).toString('utf8')),
      onStderr: (c) => (stderr += Buffer.from(c).toString('utf8')),
    },
  );
  const path = 'ustart-logs/';
  if (outcome.kind === 'exited' && outcome.code === ABSENT) {
    record({ path, source: dir, status: 'absent', message: `${dir} does not exist on the host` });
    return [];
  }
  if (outcome.kind !== 'exited' || outcome.code !== 0) {
    record({ path, source: `find ${dir}`, status: 'failed', message: describe(outcome, stderr) });
    return [];
  }
  return listing
    .split('\n')
    .filter((f) => f.startsWith(`${dir}/`) && !f.split('/').includes('..'))
    .sort()
    .map((file) => ({
      path: `ustart-logs/${file.slice(dir.length + 1)}`,
      source: file,
      command: `${AS_ROOT} exec $S cat ${shQuote(file)}`,
    }));
}

async function runItem(
  conn: HostConnection,
  item: Item,
  o: HostCollectOptions,
  signal: AbortSignal,
  why: () => { code: string; message: string },
): Promise<{ item: HostItemResult; lost: boolean }> {
  const file = join(o.stagingDir, item.path);
  await mkdir(dirname(file), { recursive: true });
  const out = createWriteStream(file, { mode: 0o600 });
  const flow = new DrainFlow(out);
  const redact = o.redactor.stream();
  const decoder = new TextDecoder('utf-8');
  const max = o.maxItemBytes ?? MAX_ITEM_BYTES;
  let bytes = 0;
  let truncated = false;
  let stderr = '';
  let outcome: ExecOutcome;
  try {
    outcome = await conn.exec(item.command, {
      signal,
      flow,
      onStdout: (chunk) => {
        if (truncated) return;
        let c = chunk;
        if (bytes + c.length > max) {
          c = c.subarray(0, max - bytes);
          truncated = true;
        }
        bytes += c.length;
        flow.wrote(out.write(redact.push(decoder.decode(c, { stream: true }))));
      },
      onStderr: (c) => {
        if (stderr.length < 4096) stderr += Buffer.from(c).toString('utf8');
      },
    });
  } finally {
    out.end(redact.push(decoder.decode()) + redact.end());
    await finished(out).catch(() => undefined);
    flow.dispose();
  }
  const base = { path: item.path, source: item.source };
  const lost = outcome.kind === 'connection-lost';
  if (outcome.kind === 'exited' && outcome.code === 0) {
    if (bytes === 0 && stderr.trim()) {
      return {
        item: { ...base, status: 'failed', message: o.redactor.redact(firstLines(stderr)) },
        lost,
      };
    }
    return {
      item: {
        ...base,
        status: 'collected',
        bytes,
        ...(truncated ? { truncated } : {}),
        ...(stderr.trim() ? { message: o.redactor.redact(firstLines(stderr)) } : {}),
      },
      lost,
    };
  }
  const message =
    outcome.kind === 'cancelled' && signal.aborted ? why().message : describe(outcome, stderr);
  return { item: { ...base, status: 'failed', message: o.redactor.redact(message) }, lost };
}

function describe(outcome: ExecOutcome, stderr: string): string {
  const said = stderr.trim() ? `: ${firstLines(stderr)}` : '';
  switch (outcome.kind) {
    case 'exited':
      return outcome.code === 127
        ? `the command is not installed on this host${said}`
        : `exited ${outcome.code}${said}`;
    case 'signalled':
      return `killed by ${outcome.signal}${said}`;
    case 'timeout':
      return `timed out${said}`;
    case 'cancelled':
      return 'cancelled';
    case 'connection-lost':
      return `connection lost: ${outcome.message}`;
    case 'unknown':
      return `ended without an exit status${said}`;
  }
}

function firstLines(text: string): string {
  return text.trim().split('\n').slice(0, 3).join(' / ');
}

/** Pauses the SSH channel while the staging file's buffer is full (ExecOptions.flow). */
class DrainFlow implements FlowControl {
  private readonly listeners = new Set<(paused: boolean) => void>();
  private isPaused = false;
  private readonly onDrain = () => this.set(false);

  constructor(private readonly stream: WriteStream) {
    stream.on('drain', this.onDrain);
  }

  get paused(): boolean {
    return this.isPaused;
  }

  onChange(listener: (paused: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Call with what `stream.write` returned. */
  wrote(ok: boolean): void {
    if (!ok) this.set(true);
  }

  dispose(): void {
    this.stream.off('drain', this.onDrain);
    this.listeners.clear();
  }

  private set(paused: boolean): void {
    if (paused === this.isPaused) return;
    this.isPaused = paused;
    for (const l of [...this.listeners]) l(paused);
  }
}
