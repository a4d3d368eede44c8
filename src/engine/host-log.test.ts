/** Log pipeline: never a broken multi-byte character, secrets redacted across chunk edges. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostLog } from './host-log.js';
import { REDACTED, Redactor } from './redact.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function pipe(secrets: string[] = []) {
  dir = await mkdtemp(join(tmpdir(), 'ustart-hostlog-'));
  const events: string[] = [];
  const file = join(dir, 'h.log');
  const log = new HostLog({
    file,
    redactor: new Redactor(secrets),
    batchMs: 1,
    maxBatch: 1, // every piece its own event: the strictest test of the boundaries
    emit: (_stream, data) => events.push(data),
  });
  return { log, events, file };
}

const TEXT = 'Grüße aus Stuttgart — 東京 🚀 ok\nzweite Zeile: ÄÖÜ ß €\n';

describe('HostLog', () => {
  it('never emits a broken character, whichever byte a chunk ends on', async () => {
    const bytes = Buffer.from(TEXT, 'utf8');
    for (let cut = 1; cut < bytes.length; cut++) {
      const { log, events, file } = await pipe();
      log.write('stdout', bytes.subarray(0, cut));
      log.write('stdout', bytes.subarray(cut));
      await log.close();
      expect(events.join('')).toBe(TEXT);
      for (const e of events) expect(e).not.toContain('\uFFFD');
      expect(await readFile(file, 'utf8')).toBe(TEXT);
      await rm(dir!, { recursive: true, force: true });
    }
  });

  it('keeps characters whole when every byte arrives alone', async () => {
    const { log, events } = await pipe();
    for (const b of Buffer.from(TEXT, 'utf8')) log.write('stdout', Uint8Array.of(b));
    await log.close();
    expect(events.join('')).toBe(TEXT);
    for (const e of events) expect(e).not.toContain('\uFFFD');
  });

  it('redacts a secret that is split over chunks, and keeps near-misses', async () => {
    const secret = 'pässwörd-42';
    const text = `a ${secret} b pässw c ${secret}`;
    const bytes = Buffer.from(text, 'utf8');
    for (let cut = 1; cut < bytes.length; cut++) {
      const { log, events, file } = await pipe([secret]);
      log.write('stdout', bytes.subarray(0, cut));
      log.write('stdout', bytes.subarray(cut));
      await log.close();
      const expected = `a ${REDACTED} b pässw c ${REDACTED}`;
      expect(events.join('')).toBe(expected);
      expect(await readFile(file, 'utf8')).toBe(expected);
      await rm(dir!, { recursive: true, force: true });
    }
  });

  it('batches chunks that arrive within the window into one event', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-hostlog-'));
    const events: string[] = [];
    const log = new HostLog({
      file: join(dir, 'h.log'),
      redactor: new Redactor([]),
      batchMs: 1000,
      emit: (_s, data) => events.push(data),
    });
    for (let i = 0; i < 100; i++) log.write('stdout', Buffer.from(`line ${i}\n`));
    await log.close();
    expect(events).toHaveLength(1);
    expect(events[0]!.split('\n')).toHaveLength(101);
  });
});
