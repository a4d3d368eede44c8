/** The engine's connection pool against LocalTransport's real (local) connections. */
import { afterEach, describe, expect, it } from 'vitest';
import { UstartError, isUstartError } from '../errors.js';
import type { HostConnection, HostTarget } from '../ssh/transport.js';
import { LocalTransport } from '../../test/support/local-transport.js';
import { ConnectionPool } from './connection-pool.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function target(name: string): HostTarget {
  return { name, address: '127.0.0.1', port: 22, user: 'root' };
}

/** LocalTransport that counts connects, records their signal and can refuse the next ones. */
class CountingTransport extends LocalTransport {
  connects: string[] = [];
  signals: (AbortSignal | undefined)[] = [];
  refuse = 0;

  override async connect(
    t: HostTarget,
    options?: { signal?: AbortSignal },
  ): Promise<HostConnection> {
    this.connects.push(t.name);
    this.signals.push(options?.signal);
    if (this.refuse > 0) {
      this.refuse--;
      throw new UstartError('ConnectionFailed', `could not reach ${t.name}`);
    }
    return super.connect(t);
  }
}

function setup() {
  const transport = new CountingTransport();
  const abort = new AbortController();
  const hosts = new Map(['h1', 'h2'].map((n) => [n, target(n)]));
  const pool = new ConnectionPool(transport, hosts, abort.signal);
  cleanups.push(() => transport.dispose());
  cleanups.push(() => pool.closeAll());
  return { transport, pool, abort };
}

describe('ConnectionPool', () => {
  it('opens one connection per host on first use and shares it, with the run signal', async () => {
    const { transport, pool, abort } = setup();
    const [a, b, c] = await Promise.all([pool.get('h1'), pool.get('h1'), pool.get('h2')]);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(transport.connects).toEqual(['h1', 'h2']);
    expect(transport.signals.every((s) => s === abort.signal)).toBe(true);
    const chunks: Uint8Array[] = [];
    const out = await a.exec('echo "$HOST"', { onStdout: (chunk) => chunks.push(chunk) });
    expect(out).toEqual({ kind: 'exited', code: 0 });
    expect(Buffer.concat(chunks).toString()).toBe('h1\n');
  });

  it('drops a connection that closed, so the next use connects again', async () => {
    const { transport, pool } = setup();
    const first = await pool.get('h1');
    transport.cutLink('h1');
    expect(await first.closed).toEqual({ reason: 'lost', message: 'link cut' });
    const second = await pool.get('h1');
    expect(second).not.toBe(first);
    expect(transport.connects).toEqual(['h1', 'h1']);
  });

  it('drops a connect that failed, so the next use tries again', async () => {
    const { transport, pool } = setup();
    transport.refuse = 1;
    const failed = await pool.get('h2').catch((e: unknown) => e);
    expect(isUstartError(failed, 'ConnectionFailed')).toBe(true);
    await expect(pool.get('h2')).resolves.toBeDefined();
    expect(transport.connects).toEqual(['h2', 'h2']);
  });

  it('refuses a host it has no target for, naming it', async () => {
    const { transport, pool } = setup();
    const e = await pool.get('h9').catch((err: unknown) => err);
    expect(isUstartError(e, 'InvalidArgument')).toBe(true);
    expect((e as Error).message).toContain('h9');
    expect(transport.connects).toEqual([]);
  });

  it('closes every connection at the end and opens fresh ones after', async () => {
    const { transport, pool } = setup();
    const [a, b] = await Promise.all([pool.get('h1'), pool.get('h2')]);
    await pool.closeAll();
    expect(await a.closed).toEqual({ reason: 'closed' });
    expect(await b.closed).toEqual({ reason: 'closed' });
    expect(await pool.get('h1')).not.toBe(a);
    expect(transport.connects).toEqual(['h1', 'h2', 'h1']);
  });
});
