/** Ssh2Transport against real sshd lab hosts: auth methods, host-key policy, jump host. */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUstartError, type UstartError } from '../../src/errors.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport, type Ssh2TransportOptions } from '../../src/ssh/ssh2-transport.js';
import type { HostTarget } from '../../src/ssh/transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { mustRun } from '../lab/run.js';
import { collector, opensshFingerprint, startAgent, storeOf } from './ssh-helpers.js';

const available = labAvailable();

describe.skipIf(!available)('ssh transport: auth and host keys', () => {
  let direct: Lab;
  let jumped: Lab;
  let tmp: string;
  const transports: Ssh2Transport[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-ssh-auth-'));
    [direct, jumped] = await Promise.all([
      createLab({ hosts: 1 }),
      createLab({ hosts: 2, jump: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.dispose()));
    await Promise.all([direct?.dispose(), jumped?.dispose()]);
    await rm(tmp, { recursive: true, force: true });
  });

  function transport(lab: Lab, options: Partial<Ssh2TransportOptions> = {}): Ssh2Transport {
    const t = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
      ...options,
    });
    transports.push(t);
    return t;
  }

  async function hostname(t: Ssh2Transport, target: HostTarget): Promise<string> {
    const conn = await t.connect(target);
    try {
      const out = collector();
      const outcome = await conn.exec('hostname', { onStdout: out.push });
      expect(outcome).toEqual({ kind: 'exited', code: 0 });
      return out.text().trim();
    } finally {
      await conn.close();
    }
  }

  async function failure(p: Promise<unknown>): Promise<UstartError> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!isUstartError(e)) throw new Error(`expected a UstartError, got ${String(e)}`);
    return e;
  }

  it('logs in with a key file', async () => {
    expect(await hostname(transport(direct), direct.target(0))).toBe(direct.hosts[0]!.name);
  });

  it('logs in with an encrypted key, asking the store for its passphrase', async () => {
    const store = storeOf({ passphrase: direct.clientKeyPassphrase });
    const t = transport(direct, { identityFiles: [direct.encryptedKeyPath], credentials: store });
    expect(await hostname(t, direct.target(0))).toBe(direct.hosts[0]!.name);
    expect(store.asked).toEqual([{ kind: 'passphrase', keyPath: direct.encryptedKeyPath }]);
  });

  it('logs in through a real ssh-agent', async () => {
    const agent = await startAgent(direct.clientKeyPath);
    try {
      const t = transport(direct, { agentSocket: agent.socket, identityFiles: [] });
      expect(await hostname(t, direct.target(0))).toBe(direct.hosts[0]!.name);
    } finally {
      await agent.stop();
    }
  });

  it('logs in with a password, and a wrong one is AuthFailed', async () => {
    const user = direct.testUser.name;
    const good = transport(direct, {
      identityFiles: [],
      credentials: storeOf({ password: direct.testUser.password }),
    });
    expect(await hostname(good, direct.target(0, user))).toBe(direct.hosts[0]!.name);
    const bad = transport(direct, {
      identityFiles: [],
      credentials: storeOf({ password: 'not-the-password' }),
    });
    const e = await failure(bad.connect(direct.target(0, user)));
    expect(e.code).toBe('AuthFailed');
    expect(e.message).toContain(direct.hosts[0]!.name);
    expect(e.message).not.toContain('not-the-password');
  });

  it('refuses an unknown host key with its fingerprint, then accepts and records it on request', async () => {
    const file = join(tmp, 'unknown_known_hosts');
    const strict = transport(direct, { knownHosts: new KnownHosts(file) });
    const e = await failure(strict.connect(direct.target(0)));
    expect(e.code).toBe('HostKeyUnknown');
    const expected = await opensshFingerprint(direct.hosts[0]!.publicKey, tmp);
    expect(e.detail.fingerprint).toBe(expected);
    expect(e.message).toContain(expected);

    const accepting = transport(direct, {
      knownHosts: new KnownHosts(file),
      acceptNewHostKeys: true,
    });
    expect(await hostname(accepting, direct.target(0))).toBe(direct.hosts[0]!.name);
    expect(await readFile(file, 'utf8')).toContain(direct.hosts[0]!.publicKey.split(' ')[1]);
    expect(await hostname(strict, direct.target(0))).toBe(direct.hosts[0]!.name);
  });

  it('accepts a hashed entry in a read-only known_hosts file', async () => {
    const user = join(tmp, 'hashed_known_hosts');
    await copyFile(direct.knownHostsPath, user);
    await mustRun('ssh-keygen', ['-H', '-f', user]);
    expect(await readFile(user, 'utf8')).toMatch(/^\|1\|/);
    const t = transport(direct, { knownHosts: new KnownHosts(join(tmp, 'empty_app'), [user]) });
    expect(await hostname(t, direct.target(0))).toBe(direct.hosts[0]!.name);
  });

  it('connects through a jump host to a target the machine cannot reach', async () => {
    const t = transport(jumped);
    expect(await hostname(t, jumped.target(0))).toBe(jumped.hosts[0]!.name);
    const directly = transport(jumped, { readyTimeoutMs: 5_000 });
    const { jump: _jump, ...noJump } = jumped.target(1);
    const e = await failure(directly.connect(noJump));
    expect(e.code).toBe('ConnectionFailed');
  });

  it('refuses a changed target key behind a good jump host', async () => {
    const before = jumped.hosts[1]!.publicKey;
    const after = await jumped.regenerateHostKey(1);
    const e = await failure(transport(jumped).connect(jumped.target(1)));
    expect(e.code).toBe('HostKeyMismatch');
    expect(e.detail.host).toBe(jumped.hosts[1]!.name);
    expect(e.detail.fingerprint).toBe(await opensshFingerprint(after, tmp));
    expect(e.detail.knownFingerprints).toEqual([await opensshFingerprint(before, tmp)]);
  });

  it('refuses a changed host key even with acceptNewHostKeys', async () => {
    const file = join(tmp, 'changed_known_hosts');
    await writeFile(file, await readFile(direct.knownHostsPath));
    await direct.regenerateHostKey(0);
    const e = await failure(
      transport(direct, { knownHosts: new KnownHosts(file), acceptNewHostKeys: true }).connect(
        direct.target(0),
      ),
    );
    expect(e.code).toBe('HostKeyMismatch');
    expect(e.message).toMatch(/CHANGED.*ssh-keygen -R/);
  });
});
