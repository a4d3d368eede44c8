/**
 * The log bundle: one zip for the support team with everything about a run — the plan as
 * used, the journal, every step/host log, the step graph, facts and findings, and logs
 * collected from the hosts themselves — every byte redacted, with a manifest that says
 * what is inside and what could not be collected, and why. Format: docs/log-bundle.md.
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import {
  readJournal,
  summarize,
  type JournalRecord,
  type RunSummary,
  type SecretSource,
} from '../engine/index.js';
import { journalPath } from '../engine/run-folder.js';
import { UstartError, messageOf } from '../errors.js';
import type { HostTarget, Transport } from '../ssh/transport.js';
import {
  HOST_LOG_UNITS,
  collectHostLogs,
  type HostItemResult,
  type HostResult,
} from './host-logs.js';
import { BundleRedactor, type LineRedactor } from './redact.js';
import { ZipFileWriter } from './zip-file.js';

/** What a file in the bundle is. */
export type BundleFileKind =
  | 'manifest'
  | 'plan'
  | 'journal'
  | 'steps'
  | 'log'
  | 'facts'
  | 'findings'
  | 'other'
  | 'host-journal'
  | 'host-kernel'
  | 'host-ustart-log';

/**
 * How the files of a run folder are sorted into kinds, first match wins. The runbook
 * stores facts and findings in the run folder under names matched here; a file nobody
 * expected is still collected, as `other`. `expected` kinds missing from a run are listed
 * in the manifest's `notCollected`.
 */
export const RUN_FOLDER_LAYOUT: readonly {
  kind: BundleFileKind;
  match: RegExp;
  expected?: boolean;
}[] = [
  { kind: 'journal', match: /^journal\.jsonl$/, expected: true },
  { kind: 'plan', match: /^plan(\.resumed-[^/]+)?\.yaml$/, expected: true },
  { kind: 'steps', match: /^steps\.json$/, expected: true },
  { kind: 'log', match: /^logs\//, expected: true },
  { kind: 'findings', match: /(^|\/)(findings|preflight)[^/]*$/i, expected: true },
  { kind: 'facts', match: /(^|\/)(facts|netcheck|network-matrix)([^/]*$|\/)/i, expected: true },
  { kind: 'other', match: /./ },
];

/** Version 1 of `manifest.json`, at the root of the bundle's folder. */
export interface LogBundleManifest {
  format: 'ustart-log-bundle';
  version: 1;
  ustartVersion: string;
  runId: string;
  /** ISO 8601, UTC. */
  createdAt: string;
  run: {
    /** The run's final state, or `not finished` (running, or interrupted). */
    state: string;
    startedAt: string;
    finishedAt?: string;
    planFile?: string;
    machine?: string;
    user?: string;
  };
  /** journald entries on the hosts are from this time on (ISO 8601); null without hosts. */
  since: string | null;
  /** The run's hosts, each with what was collected from it. */
  hosts: HostResult[];
  /** Every file in the bundle but the manifest, with its uncompressed size. */
  files: { path: string; kind: BundleFileKind; bytes: number }[];
  /** What was looked for and is not in the bundle, and why. */
  notCollected: { what: string; host?: string; reason: string }[];
  redaction: {
    /** Known secret values (the run's SecretSource) hidden in every file. */
    knownSecrets: number;
    /** How many values each rule replaced (`known`: a known secret). */
    replaced: Record<string, number>;
  };
}

/** Where and how to collect logs from the hosts themselves. */
export interface LogBundleHosts {
  transport: Transport;
  /** SSH targets by the plan's host name; the run's hosts are looked up here. */
  targets: ReadonlyMap<string, HostTarget>;
  /** systemd units collected on top of `HOST_LOG_UNITS` (a runbook's own services). */
  units?: readonly string[];
  /** Per host, connect included. Default 120 s. */
  timeoutMs?: number;
  /** Hosts collected at once. Default 8 (the transport's handshakes per jump host). */
  parallelism?: number;
  /** The host's uStart log folder; default /var/log/ustart. */
  logDir?: string;
  kernelLines?: number;
  maxItemBytes?: number;
}

export type LogBundleProgress =
  | { type: 'run-file-added'; path: string; kind: BundleFileKind; bytes: number }
  | { type: 'host-started'; host: string }
  | { type: 'host-item'; host: string; item: HostItemResult }
  | { type: 'host-finished'; host: string; result: HostResult }
  | { type: 'bundle-written'; out: string; bytes: number };

export interface LogBundleOptions {
  /** The run folder (`<plan-dir>/.ustart/runs/<runId>`). */
  runDir: string;
  /** The zip to write. */
  out: string;
  /** Collect from the hosts too; absent: the run folder only. */
  hosts?: LogBundleHosts;
  /** journald entries from this time on (epoch ms). Default: one hour before the run started. */
  since?: number;
  /** Known secrets to hide (the run's SecretSource); patterns apply always. */
  secrets?: Pick<SecretSource, 'values'>;
  /** Replace `out` if it exists. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: LogBundleProgress) => void;
  /** uStart's version for the manifest; read from package.json when absent. */
  version?: string;
  now?: () => Date;
}

export interface LogBundleResult {
  out: string;
  /** Size of the zip in bytes. */
  bytes: number;
  manifest: LogBundleManifest;
}

const HOUR_MS = 3_600_000;
const UNIT_NAME = /^[A-Za-z0-9@._:\\-]+$/;

/**
 * Writes the log bundle of the run in `runDir` to `out`, atomically. Host problems are
 * recorded in the manifest, never thrown; what throws is a run that does not exist, an
 * `out` that exists (without `force`), a write that fails, or a cancel (`Cancelled`).
 */
export async function createLogBundle(options: LogBundleOptions): Promise<LogBundleResult> {
  const { runDir, out } = options;
  if (!existsSync(journalPath(runDir))) {
    throw new UstartError(
      'RunNotFound',
      `${runDir} is not a run folder (it has no journal.jsonl). List runs with "ustart runs PLAN".`,
      { detail: { runDir } },
    );
  }
  const units = [...new Set([...HOST_LOG_UNITS, ...(options.hosts?.units ?? [])])];
  const badUnit = units.find((u) => !UNIT_NAME.test(u));
  if (badUnit !== undefined) {
    throw new UstartError(
      'InvalidArgument',
      `"${badUnit}" is not a systemd unit name (letters, digits, @ . _ : - only).`,
    );
  }
  // A broken journal is when support is needed most: it goes into the bundle as it is.
  const journal = await readRun(runDir);
  const { summary, created } = journal;
  const runId = summary?.runId ?? basename(runDir);
  const startedAt = summary?.startedAt ?? (await stat(journalPath(runDir))).birthtimeMs;
  const runHosts = [...new Set(created?.steps.flatMap((s) => s.hosts) ?? [])];
  const hostNames = runHosts.length > 0 ? runHosts : [...(options.hosts?.targets.keys() ?? [])];
  const since = options.since ?? startedAt - HOUR_MS;
  const redactor = new BundleRedactor(options.secrets ? await options.secrets.values() : []);
  const root = `ustart-logs-${runId}`;
  const now = options.now ?? (() => new Date());
  const files: LogBundleManifest['files'] = [];
  const notCollected: LogBundleManifest['notCollected'] = [];
  const progress = options.onProgress ?? (() => undefined);
  if (journal.problem) notCollected.push({ what: 'journal summary', reason: journal.problem });

  const zip = await ZipFileWriter.create(out, { force: options.force ?? false });
  const staging = await mkdtemp(join(tmpdir(), 'ustart-logbundle-'));
  // Stops the host collection on a cancel, and on a failure here (a full disk), so the
  // error is not held back until every host has timed out.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const hostsDone = options.hosts
    ? collectHosts(options.hosts, hostNames, {
        staging,
        redactor,
        since,
        units,
        signal: stop.signal,
        progress,
      })
    : Promise.resolve<HostResult[]>([]);
  // Settled before anything can throw below, so no collection is left running.
  const hostsSettled = hostsDone.then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  try {
    const seen = new Set<BundleFileKind>();
    for (const rel of await runFolderFiles(runDir)) {
      throwIfCancelled(options.signal);
      const kind = kindOf(rel);
      seen.add(kind);
      const path = `${root}/run/${rel}`;
      const file = join(runDir, ...rel.split('/'));
      const bytes = await zip.add(path, redacted(file, redactor.stream()), await mtime(file));
      files.push({ path, kind, bytes });
      progress({ type: 'run-file-added', path, kind, bytes });
    }
    for (const { kind, expected } of RUN_FOLDER_LAYOUT) {
      if (expected && !seen.has(kind)) {
        notCollected.push({ what: kind, reason: `the run folder has no ${kind}` });
      }
    }

    const settled = await hostsSettled;
    if (!settled.ok) throw settled.e;
    throwIfCancelled(options.signal);
    const hosts = settled.r;
    if (!options.hosts) {
      notCollected.push({ what: 'host logs', reason: 'not asked for (--no-hosts)' });
    }
    for (const h of hosts) {
      if (h.error) notCollected.push({ what: 'host logs', host: h.host, reason: h.error.message });
      for (const item of h.items) {
        const path = `${root}/hosts/${h.host}/${item.path}`;
        if (item.status === 'collected') {
          const bytes = await zip.add(path, createReadStream(join(staging, h.host, item.path)));
          files.push({ path, kind: hostKind(item.path), bytes });
        } else if (!h.error || item.status === 'absent') {
          notCollected.push({
            what: item.source,
            host: h.host,
            reason: item.message ?? item.status,
          });
        }
      }
    }

    const manifest: LogBundleManifest = {
      format: 'ustart-log-bundle',
      version: 1,
      ustartVersion: options.version ?? (await ustartVersion()),
      runId,
      createdAt: now().toISOString(),
      run: {
        state: summary?.finalState ?? 'not finished',
        startedAt: new Date(startedAt).toISOString(),
        ...(summary?.finalState ? { finishedAt: new Date(summary.updatedAt).toISOString() } : {}),
        ...(created?.planFile ? { planFile: created.planFile } : {}),
        ...(created ? { machine: created.machine, user: created.user } : {}),
      },
      since: options.hosts ? new Date(since).toISOString() : null,
      hosts,
      files,
      notCollected,
      redaction: { knownSecrets: redactor.knownSecrets, replaced: { ...redactor.counts } },
    };
    // The manifest carries host error messages: its strings are redacted like every file
    // (strings only, so its counts and keys stay what they are and it stays valid JSON).
    const safe = redactStrings(manifest, redactor);
    await zip.add(`${root}/manifest.json`, [JSON.stringify(safe, null, 2)]);
    const bytes = await zip.commit();
    progress({ type: 'bundle-written', out, bytes });
    return { out, bytes, manifest: safe };
  } catch (e) {
    stop.abort();
    await zip.abort();
    await hostsSettled;
    throw e;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await rm(staging, { recursive: true, force: true });
  }
}

async function readRun(runDir: string): Promise<{
  summary?: RunSummary;
  created?: Extract<JournalRecord, { type: 'run-created' }>;
  problem?: string;
}> {
  try {
    const { records, torn } = await readJournal(journalPath(runDir));
    const first = records[0];
    return {
      summary: summarize(records, torn),
      ...(first?.type === 'run-created' ? { created: first } : {}),
    };
  } catch (e) {
    return { problem: messageOf(e) };
  }
}

async function collectHosts(
  hosts: LogBundleHosts,
  names: readonly string[],
  ctx: {
    staging: string;
    redactor: BundleRedactor;
    since: number;
    units: readonly string[];
    signal: AbortSignal;
    progress: (event: LogBundleProgress) => void;
  },
): Promise<HostResult[]> {
  const results: HostResult[] = new Array<HostResult>(names.length);
  const { progress } = ctx;
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      const name = names[i]!;
      const target = hosts.targets.get(name);
      if (!target) {
        results[i] = {
          host: name,
          status: 'failed',
          error: {
            code: 'InvalidArgument',
            message: `the plan has no SSH address for ${name}; give the plan the run used with --plan`,
          },
          items: [],
        };
        continue;
      }
      progress({ type: 'host-started', host: name });
      const result = await collectHostLogs({
        transport: hosts.transport,
        target,
        stagingDir: join(ctx.staging, name),
        redactor: ctx.redactor,
        since: ctx.since,
        units: ctx.units,
        timeoutMs: hosts.timeoutMs ?? 120_000,
        ...(hosts.logDir ? { logDir: hosts.logDir } : {}),
        ...(hosts.kernelLines ? { kernelLines: hosts.kernelLines } : {}),
        ...(hosts.maxItemBytes ? { maxItemBytes: hosts.maxItemBytes } : {}),
        signal: ctx.signal,
        onItem: (item) => progress({ type: 'host-item', host: name, item }),
      });
      results[i] = result;
      progress({ type: 'host-finished', host: name, result });
    }
  };
  const n = Math.max(1, Math.min(hosts.parallelism ?? 8, names.length));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}

/** Every file of the run folder, relative with `/`, the layout's known files first. */
async function runFolderFiles(runDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) await walk(p);
      // Temp files of an atomic write in progress are half a file: left out.
      else if (entry.isFile() && !entry.name.endsWith('.tmp')) {
        out.push(relative(runDir, p).split(sep).join('/'));
      }
    }
  };
  await walk(runDir);
  const rank = (rel: string) => RUN_FOLDER_LAYOUT.findIndex((l) => l.match.test(rel));
  return out.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function redactStrings<T>(value: T, redactor: BundleRedactor): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) =>
    typeof v === 'string' ? redactor.redact(v) : v,
  ) as T;
}

function kindOf(rel: string): BundleFileKind {
  return RUN_FOLDER_LAYOUT.find((l) => l.match.test(rel))?.kind ?? 'other';
}

function hostKind(path: string): BundleFileKind {
  if (path.startsWith('journal/')) return 'host-journal';
  if (path === 'kernel.log') return 'host-kernel';
  return 'host-ustart-log';
}

/** A file's text through a redactor, decoded as a stream (a character split over reads stays whole). */
async function* redacted(file: string, redact: LineRedactor): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of createReadStream(file)) {
    const text = redact.push(decoder.decode(chunk as Buffer, { stream: true }));
    if (text) yield text;
  }
  yield redact.push(decoder.decode()) + redact.end();
}

async function mtime(file: string): Promise<Date> {
  return (await stat(file)).mtime;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new UstartError('Cancelled', 'the log bundle was cancelled; nothing was written.');
  }
}

async function ustartVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(
      await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return process.env.npm_package_version ?? 'unknown';
  }
}
