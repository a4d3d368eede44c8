import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCredentialsFile } from './credentials-file.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function file(text: string, mode = 0o600): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'ustart-creds-'));
  const path = join(dir, `creds-${Math.random().toString(16).slice(2)}`);
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

const o = { what: 'the test credentials file', form: 'HOST USER:PASSWORD' };

describe('readCredentialsFile', () => {
  it('reads KEY USER:PASSWORD lines, skipping comments and blank lines; a password may hold colons', async () => {
    const map = await readCredentialsFile(
      await file('# site logins\n\nharbor.example.com robot:s3:cret\n* admin:pw\n'),
      o,
    );
    expect([...map]).toEqual([
      ['harbor.example.com', { username: 'robot', password: 's3:cret' }],
      ['*', { username: 'admin', password: 'pw' }],
    ]);
  });

  it('refuses a file other users can read, naming its mode', async () => {
    const path = await file('h u:p\n', 0o644);
    await expect(readCredentialsFile(path, o)).rejects.toThrow(
      `${path} can be read by other users (mode 644)`,
    );
  });

  it('names a bad line by number, never its content, and refuses an empty password', async () => {
    const bad = await file('ok u:p\nhost-without-login hunter2\n');
    const e = await readCredentialsFile(bad, o).catch((x: Error) => x);
    expect(String(e)).toContain(`${bad}:2: write HOST USER:PASSWORD`);
    expect(String(e)).not.toContain('hunter2');
    const empty = await file('host user:\n');
    await expect(readCredentialsFile(empty, o)).rejects.toThrow(
      `${empty}:1: the password is empty`,
    );
  });

  it('says which file it cannot read', async () => {
    await expect(readCredentialsFile('/nonexistent/creds', o)).rejects.toThrow(
      'cannot read the test credentials file /nonexistent/creds',
    );
  });
});
