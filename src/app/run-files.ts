/**
 * What the run service reads of a run's files and specs for the fronts: byte ranges of the
 * log files, their sizes (a resume appends to them), and a step's preview.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunInfo, StepPreview } from '../api/index.js';
import { logPath, type JournalRecord, type RunSummary, type StepSpec } from '../engine/index.js';
import { UstartError } from '../errors.js';

/**
 * A run as listed: its journal folded (`summary`, `records`), and, when this core runs it
 * now (`live`), where it waits for a decision.
 */
export function runInfo(
  summary: RunSummary,
  records: readonly JournalRecord[],
  live: boolean,
  paused: RunInfo['paused'],
): RunInfo {
  const created = records[0]?.type === 'run-created' ? records[0] : undefined;
  const after = new Map(created?.steps.map((s) => [s.id, s.after]) ?? []);
  const planned = new Map(created?.steps.map((s) => [s.id, s.hosts]) ?? []);
  const state = live ? 'running' : (summary.finalState ?? 'interrupted');
  return {
    runId: summary.runId,
    state,
    startedAt: summary.startedAt,
    ...(summary.finalState && !live ? { finishedAt: summary.updatedAt } : {}),
    demo: summary.demo,
    counts: summary.counts,
    steps: [...summary.steps.values()].map((s) => ({
      id: s.id,
      title: s.title,
      phase: s.phase,
      hosts: planned.get(s.id) ?? [...s.hosts.keys()],
      after: after.get(s.id) ?? [],
      state: s.state,
      ...(s.reason ? { reason: s.reason } : {}),
      hostStates: Object.fromEntries(
        [...s.hosts].map(([h, v]) => [
          h,
          {
            state: v.state,
            attempt: v.attempt,
            ...(v.exitCode !== undefined ? { exitCode: v.exitCode } : {}),
            ...(v.message ? { message: v.message } : {}),
            ...(v.startedAt !== undefined ? { startedAt: v.startedAt } : {}),
            ...(v.finishedAt !== undefined ? { finishedAt: v.finishedAt } : {}),
          },
        ]),
      ),
    })),
    active: live,
    ...(paused ? { paused } : {}),
  };
}

/** What a step will do, as the Install page previews it. */
export function stepPreview(spec: StepSpec, hosts: string[]): StepPreview {
  return {
    id: spec.id,
    title: spec.title,
    phase: spec.phase,
    ...(spec.description ? { description: spec.description } : {}),
    hosts,
    ...(spec.check ? { check: spec.check } : {}),
    run: spec.run,
    sudo: spec.sudo ?? false,
    ...(spec.timeout ? { timeout: spec.timeout } : {}),
    retries: spec.retries ?? 0,
    files: (spec.uploads ?? []).map((u) => {
      const bytes =
        u.content === undefined
          ? 0
          : typeof u.content === 'string'
            ? Buffer.byteLength(u.content)
            : u.content.byteLength;
      const text = u.content === undefined ? undefined : textOf(u.content);
      return {
        path: u.path,
        ...(u.hosts ? { hosts: [...u.hosts] } : {}),
        ...(u.mode !== undefined ? { mode: u.mode } : {}),
        bytes,
        ...(text !== undefined ? { text } : {}),
      };
    }),
  };
}

/** A byte range of a log file of the run in `runDir`, cut to whole lines (a partial first line is dropped). */
export async function readLogRange(
  runDir: string,
  o: { stepId: string; host: string; start?: number; end?: number; maxBytes: number },
): Promise<{ data: string; start: number; end: number; size: number }> {
  for (const [what, v] of [
    ['step', o.stepId],
    ['host', o.host],
  ] as const) {
    if (!/^[A-Za-z0-9._-]+$/.test(v) || v.startsWith('.'))
      throw new UstartError('InvalidArgument', `"${v}" is not a ${what} name.`);
  }
  const file = logPath(runDir, o.stepId, o.host);
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return { data: '', start: 0, end: 0, size: 0 };
  }
  try {
    const { size } = await handle.stat();
    let start: number;
    let end: number;
    if (o.start !== undefined) {
      start = Math.min(o.start, size);
      end = Math.min(size, start + o.maxBytes);
    } else {
      end = Math.min(o.end ?? size, size);
      start = Math.max(0, end - o.maxBytes);
    }
    const buf = Buffer.alloc(end - start);
    await handle.read(buf, 0, buf.length, start);
    let from = 0;
    let to = buf.length;
    // Whole lines only: a cut line would break a UTF-8 character or an escape sequence.
    if (start > 0 && o.start === undefined) {
      const nl = buf.indexOf(0x0a);
      from = nl < 0 ? buf.length : nl + 1;
    }
    if (end < size && o.start !== undefined) {
      const nl = buf.lastIndexOf(0x0a);
      to = nl < 0 ? 0 : nl + 1;
    }
    return {
      data: buf.subarray(from, to).toString('utf8'),
      start: start + from,
      end: start + to,
      size,
    };
  } finally {
    await handle.close();
  }
}

export function checkRunId(runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId.startsWith('.'))
    throw new UstartError('InvalidArgument', `"${runId}" is not a run id.`);
  return runId;
}

function textOf(content: string | Uint8Array): string | undefined {
  const MAX = 262_144;
  if (typeof content === 'string') return content.length <= MAX ? content : undefined;
  if (content.byteLength > MAX || content.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    return undefined;
  }
}

/** Sizes of the log files of a run folder, keyed `step\0host` (a resume appends to them). */
export async function logSizes(logsDir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let steps: string[];
  try {
    steps = await readdir(logsDir);
  } catch {
    return sizes;
  }
  for (const step of steps) {
    let files: string[];
    try {
      files = await readdir(join(logsDir, step));
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.log')) continue;
      const { size } = await stat(join(logsDir, step, f));
      sizes.set(`${step}\u0000${f.slice(0, -4)}`, size);
    }
  }
  return sizes;
}
