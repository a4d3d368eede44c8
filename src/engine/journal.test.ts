import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isUstartError } from '../errors.js';
import { JournalWriter, readJournal, summarize, type JournalRecord } from './journal.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const created: JournalRecord = {
  type: 'run-created',
  v: 1,
  at: 1,
  runId: 'r1',
  machine: 'laptop',
  user: 'ana',
  pid: 1,
  steps: [{ id: 's', title: 'S', phase: 'p', hosts: ['h1', 'h2'], after: [] }],
};

describe('journal', () => {
  it('tolerates a torn last line on read and cuts it off before appending', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-journal-'));
    const file = join(dir, 'journal.jsonl');
    const w = await JournalWriter.open(file);
    await Promise.all([
      w.append(created),
      w.append({ type: 'host-step', at: 2, stepId: 's', host: 'h1', state: 'running', attempt: 1 }),
    ]);
    await w.close();
    await appendFile(file, '{"type":"host-step","at":3,"stepId":"s","ho');
    const torn = await readJournal(file);
    expect(torn.torn).toBe(true);
    expect(torn.records).toHaveLength(2);
    const summary = summarize(torn.records, torn.torn);
    expect(summary.steps.get('s')!.hosts.get('h1')!.state).toBe('running');
    expect(summary.counts).toMatchObject({ running: 1, pending: 1 });

    const again = await JournalWriter.open(file);
    await again.append({ type: 'run-finished', at: 4, state: 'cancelled', counts: summary.counts });
    await again.close();
    const healed = await readJournal(file);
    expect(healed.torn).toBe(false);
    expect(healed.records.map((r) => r.type)).toEqual(['run-created', 'host-step', 'run-finished']);
    expect((await readFile(file, 'utf8')).endsWith('\n')).toBe(true);
  });

  it('refuses a journal broken in the middle, naming the line', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-journal-'));
    const file = join(dir, 'journal.jsonl');
    await writeFile(file, `${JSON.stringify(created)}\nnot json\n{}\n`);
    const e = await readJournal(file).catch((x: unknown) => x);
    expect(isUstartError(e, 'JournalCorrupt')).toBe(true);
    expect((e as Error).message).toContain('journal.jsonl:2');
  });
});
