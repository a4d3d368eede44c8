import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CredentialRequest } from '../ssh/credentials.js';
import { loadBmcCredentials } from './credentials.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-bmc-cred-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('BMC credentials', () => {
  it('reads a 0600 file, a line for the address winning over * and the environment', async () => {
    const file = join(dir, 'bmc-auth');
    await writeFile(file, '# BMCs\n10.9.0.11 admin:pa:ss w0rd\n* root:calvin\n');
    await chmod(file, 0o600);
    const c = await loadBmcCredentials({
      file,
      env: { USTART_BMC_USERNAME: 'env', USTART_BMC_PASSWORD: 'x' },
    });
    expect(await c.get('10.9.0.11')).toEqual({ username: 'admin', password: 'pa:ss w0rd' });
    expect(await c.get('10.9.0.12')).toEqual({ username: 'root', password: 'calvin' });
  });

  it('refuses a file other users can read, and names a bad line without its content', async () => {
    const file = join(dir, 'bmc-auth');
    await writeFile(file, '10.9.0.11 secret-without-user\n');
    await chmod(file, 0o644);
    await expect(loadBmcCredentials({ file, env: {} })).rejects.toThrow(/chmod 600/);
    await chmod(file, 0o600);
    const e = await loadBmcCredentials({ file, env: {} }).catch((x: Error) => x);
    expect(String(e)).toContain(`${file}:1`);
    expect(String(e)).not.toContain('secret-without-user');
  });

  it('asks the front once per BMC, as a password of bmc:<address>', async () => {
    const asked: CredentialRequest[] = [];
    const c = await loadBmcCredentials({
      user: 'admin',
      env: {},
      ask: { get: (r) => (asked.push(r), Promise.resolve('typed')) },
    });
    expect(await c.get('10.9.0.11')).toEqual({ username: 'admin', password: 'typed' });
    await c.get('10.9.0.11');
    expect(asked).toEqual([{ kind: 'password', host: 'bmc:10.9.0.11', user: 'admin' }]);
  });

  it('has nothing without a user to ask for', async () => {
    const c = await loadBmcCredentials({ env: {}, ask: { get: () => Promise.resolve('x') } });
    expect(await c.get('10.9.0.11')).toBeUndefined();
  });
});
