/**
 * The engine's transport connections: one per host, opened on first use, shared by every
 * step on that host (the transport's keepalive notices a dropped link, docs/ssh.md), dropped
 * from the pool when it closes so the next use reconnects, and all closed when the run ends.
 */
import { setMaxListeners } from 'node:events';
import { UstartError } from '../errors.js';
import type { HostConnection, HostTarget, Transport } from '../ssh/transport.js';

export class ConnectionPool {
  private readonly connections = new Map<string, Promise<HostConnection>>();

  /** `signal` aborts every connect in flight (the run's cancel). */
  constructor(
    private readonly transport: Transport,
    private readonly hosts: ReadonlyMap<string, HostTarget>,
    private readonly signal: AbortSignal,
  ) {
    // One run signal fans out to every host's connect: that many listeners are expected.
    setMaxListeners(0, signal);
  }

  /** The host's connection, opened on first use and dropped when it closes. */
  get(host: string): Promise<HostConnection> {
    let c = this.connections.get(host);
    if (!c) {
      const target = this.hosts.get(host);
      if (!target)
        return Promise.reject(new UstartError('InvalidArgument', `no SSH target for host ${host}`));
      c = this.transport.connect(target, { signal: this.signal });
      this.connections.set(host, c);
      c.then(
        (conn) =>
          void conn.closed.then(
            () => this.connections.get(host) === c && this.connections.delete(host),
          ),
        () => this.connections.get(host) === c && this.connections.delete(host),
      );
    }
    return c;
  }

  /** Closes every connection; never throws. */
  async closeAll(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.then((conn) => conn.close()).catch(() => undefined)));
  }
}
