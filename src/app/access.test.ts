import { describe, expect, it } from 'vitest';
import { createFrontEvents, type EventPayload } from '../api/index.js';
import { isUstartError } from '../errors.js';
import { SecretKeeper, type SecretVault } from './access.js';

/** A keychain in memory that can be told to refuse, as safeStorage does without a store. */
function vault(canRemember: boolean): SecretVault & { kept: Map<string, string> } {
  const kept = new Map<string, string>();
  return {
    kept,
    canRemember,
    ...(canRemember ? {} : { reason: 'no secret service is running' }),
    get: async (k) => kept.get(k),
    set: async (k, v) => void kept.set(k, v),
    clear: async () => kept.clear(),
  };
}

describe('SecretKeeper', () => {
  it('asks the front for a password when the transport needs one, and keeps it for the session', async () => {
    const events = createFrontEvents();
    const asked: EventPayload<'secret:needed'>[] = [];
    events.on('secret:needed', (e) => asked.push(e));
    const keeper = new SecretKeeper(events);
    const pending = keeper.get({ kind: 'password', host: 'ctl-01', user: 'ops' });
    await expect.poll(() => asked.length).toBe(1);
    expect(asked).toEqual([
      { requestId: 1, ref: { kind: 'password', host: 'ctl-01', user: 'ops' } },
    ]);
    expect(
      await keeper.provide({ kind: 'password', host: 'ctl-01', user: 'ops' }, 's3cret', false, 1),
    ).toBe('session');
    expect(await pending).toBe('s3cret');
    // Known now: not asked again, and listed for redaction.
    expect(await keeper.get({ kind: 'password', host: 'ctl-01', user: 'ops' })).toBe('s3cret');
    expect(asked).toHaveLength(1);
    expect(keeper.values()).toEqual(['s3cret']);
    keeper.dispose();
  });

  it('asks once for a secret many connections need at the same time', async () => {
    const events = createFrontEvents();
    const asked: EventPayload<'secret:needed'>[] = [];
    events.on('secret:needed', (e) => asked.push(e));
    const keeper = new SecretKeeper(events);
    const ref = { kind: 'passphrase', keyPath: '/home/ops/.ssh/id_ed25519' } as const;
    const all = Promise.all([keeper.get(ref), keeper.get(ref), keeper.get(ref)]);
    await expect.poll(() => asked.length).toBe(1);
    await keeper.provide(ref, 'pp', false, asked[0]!.requestId);
    expect(await all).toEqual(['pp', 'pp', 'pp']);
    expect(asked).toHaveLength(1);
  });

  it('never prompts for a sudo password (the transport fetches it before every sudo)', async () => {
    const events = createFrontEvents();
    const asked: unknown[] = [];
    events.on('secret:needed', (e) => asked.push(e));
    const keeper = new SecretKeeper(events);
    expect(await keeper.get({ kind: 'sudo', host: 'ctl-01', user: 'ops' })).toBeUndefined();
    expect(asked).toEqual([]);
    await keeper.provide({ kind: 'sudo', host: 'ctl-01', user: 'ops' }, 'pw', false);
    expect(await keeper.get({ kind: 'sudo', host: 'ctl-01', user: 'ops' })).toBe('pw');
  });

  it('a declined request resolves empty, so that login method is skipped', async () => {
    const events = createFrontEvents();
    const asked = new Promise((resolve) => events.on('secret:needed', resolve));
    const keeper = new SecretKeeper(events);
    const pending = keeper.get({ kind: 'passphrase', keyPath: '/k' });
    await asked;
    expect(await keeper.provide({ kind: 'passphrase', keyPath: '/k' }, null, false, 1)).toBe(
      'none',
    );
    expect(await pending).toBeUndefined();
  });

  it('remembers in the keychain only where one is real, and says why not', async () => {
    const refusing = new SecretKeeper(createFrontEvents(), vault(false));
    expect(refusing.info()).toEqual({
      kind: 'keychain',
      canRemember: false,
      reason: 'no secret service is running',
    });
    const e = await refusing
      .provide({ kind: 'passphrase', keyPath: '/k' }, 'pp', true)
      .catch((x: unknown) => x);
    expect(isUstartError(e, 'Unsupported')).toBe(true);
    expect((e as Error).message).toContain('no secret service is running');

    const store = vault(true);
    const keeper = new SecretKeeper(createFrontEvents(), store);
    expect(await keeper.provide({ kind: 'passphrase', keyPath: '/k' }, 'pp', true)).toBe(
      'keychain',
    );
    expect([...store.kept.values()]).toEqual(['pp']);
    // A new session finds it in the keychain without asking.
    const later = new SecretKeeper(createFrontEvents(), store);
    expect(await later.get({ kind: 'passphrase', keyPath: '/k' })).toBe('pp');
    await later.forget();
    expect(store.kept.size).toBe(0);
  });

  it('browser mode has no keychain: memory only', () => {
    expect(new SecretKeeper(createFrontEvents()).info()).toMatchObject({
      kind: 'session',
      canRemember: false,
    });
  });
});
