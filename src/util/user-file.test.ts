import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUstartError } from '../errors.js';
import { openRegularFile, readRegularFile, readRegularFileSync } from './user-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-user-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('reading a file a user named', () => {
  it('reads a regular file, through a link unless told not to follow one', async () => {
    await writeFile(join(dir, 'plan.yaml'), 'schemaVersion: 1\n');
    await symlink(join(dir, 'plan.yaml'), join(dir, 'link.yaml'));
    expect(await readRegularFile(join(dir, 'link.yaml'), { encoding: 'utf8' })).toBe(
      'schemaVersion: 1\n',
    );
    expect(readRegularFileSync(join(dir, 'plan.yaml'))).toBe('schemaVersion: 1\n');
    await expect(readRegularFile(join(dir, 'link.yaml'), { noFollow: true })).rejects.toMatchObject(
      { code: 'ELOOP' },
    );
  });

  it('refuses a FIFO at once (no writer needed), a folder and a device, naming the path and the kind', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const cases: Array<[string, RegExp]> = [
      [fifo, /pipe is a FIFO \(named pipe\), not a regular file; uStart reads the plan/],
      [dir, /is a directory, not a regular file/],
      ['/dev/zero', /\/dev\/zero is a character device/],
    ];
    for (const [file, message] of cases) {
      const e: unknown = await readRegularFile(file, { what: 'plan' }).catch((x: unknown) => x);
      expect(isUstartError(e, 'InvalidArgument')).toBe(true);
      expect((e as Error).message).toMatch(message);
      expect(() => readRegularFileSync(file, { what: 'plan' })).toThrow(message);
    }
  });

  it('refuses a file whose opened descriptor lies outside the confined folder', async () => {
    // What a folder swapped for a link after the path was checked would open.
    const other = await mkdtemp(join(tmpdir(), 'ustart-user-file-other-'));
    try {
      await writeFile(join(other, 'secret'), 'x');
      const e: unknown = await openRegularFile(join(other, 'secret'), { within: dir }).catch(
        (x: unknown) => x,
      );
      expect(isUstartError(e, 'InvalidArgument')).toBe(true);
      expect((e as Error).message).toContain(`is outside ${dir}`);
      await writeFile(join(dir, 'inside'), 'y');
      const handle = await openRegularFile(join(dir, 'inside'), { within: dir });
      await handle.close();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
