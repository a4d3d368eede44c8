import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { isUstartError } from '../errors.js';
import { ZipFileWriter } from './zip-file.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-zip-test-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** 8 MiB of varied lines, in 64 KiB chunks, so the file stream's back pressure is used. */
function* bigLog(): Generator<Uint8Array> {
  for (let i = 0; i < 128; i++) {
    let text = '';
    for (let j = 0; text.length < 65_536 - 80; j++) {
      text += `2026-11-27T16:00:${String(j % 60).padStart(2, '0')} chunk ${i} line ${j} ok\n`;
    }
    yield Buffer.from(text.padEnd(65_536, '.'));
  }
}

describe('ZipFileWriter', () => {
  it('streams entries into a zip that reads back byte for byte', async () => {
    const dir = await tempDir();
    const out = join(dir, 'b.zip');
    const zip = await ZipFileWriter.create(out);
    const size = await zip.add('a/big.log', bigLog());
    await zip.add('a/ü.txt', ['grüße ', 'und ', '日本']);
    const bytes = await zip.commit();
    expect(size).toBe(128 * 65_536);
    const file = await readFile(out);
    expect(file.length).toBe(bytes);
    const entries = unzipSync(new Uint8Array(file));
    const expected = createHash('sha256');
    for (const c of bigLog()) expected.update(c);
    expect(createHash('sha256').update(entries['a/big.log']!).digest('hex')).toBe(
      expected.digest('hex'),
    );
    expect(Buffer.from(entries['a/ü.txt']!).toString('utf8')).toBe('grüße und 日本');
    expect(await readdir(dir)).toEqual(['b.zip']);
  });

  it('never overwrites a file that appeared while it wrote, unless forced', async () => {
    const dir = await tempDir();
    const out = join(dir, 'b.zip');
    const zip = await ZipFileWriter.create(out);
    await zip.add('x.txt', ['x']);
    await writeFile(out, 'someone else');
    const e = await zip.commit().catch((err: unknown) => err);
    await zip.abort();
    expect(isUstartError(e, 'InvalidArgument')).toBe(true);
    expect((e as Error).message).toContain('appeared while the bundle was written');
    expect(await readFile(out, 'utf8')).toBe('someone else');
    expect(await readdir(dir)).toEqual(['b.zip']);

    const forced = await ZipFileWriter.create(out, { force: true });
    await forced.add('x.txt', ['x']);
    await forced.commit();
    expect(Object.keys(unzipSync(new Uint8Array(await readFile(out))))).toEqual(['x.txt']);
  });

  it('names the file when it cannot write, and an abort leaves nothing', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'no-such-folder', 'b.zip');
    const e = await ZipFileWriter.create(missing).catch((err: unknown) => err);
    expect(isUstartError(e, 'WriteFailed')).toBe(true);
    expect((e as Error).message).toContain(missing);

    const zip = await ZipFileWriter.create(join(dir, 'c.zip'));
    await zip.add('x.txt', ['half of it']);
    await zip.abort();
    await zip.abort();
    expect(await readdir(dir)).toEqual([]);
  });
});
