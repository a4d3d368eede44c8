/**
 * The transport of a demo run: the real Ssh2Transport, fenced in. It trusts only the demo
 * lab's known_hosts, never the consultant's keys, agent or known_hosts, and it refuses any
 * target that is not one of the lab's 127.0.0.1 ports, so a demo can never reach a real host.
 */
import { UstartError } from '../errors.js';
import type { CredentialStore } from '../ssh/credentials.js';
import { KnownHosts } from '../ssh/known-hosts.js';
import { Ssh2Transport } from '../ssh/ssh2-transport.js';
import type { HostConnection, HostTarget, Transport } from '../ssh/transport.js';
import type { DemoLab } from './lab.js';

/** The demo hosts take any password; this one is not a secret. */
const DEMO_LOGIN: CredentialStore = {
  async get(request) {
    return request.kind === 'password' ? 'demo' : undefined;
  },
};

export class DemoTransport implements Transport {
  private readonly inner: Ssh2Transport;

  constructor(private readonly lab: Pick<DemoLab, 'knownHostsPath' | 'isLabTarget'>) {
    this.inner = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath, []),
      acceptNewHostKeys: false,
      credentials: DEMO_LOGIN,
      agentSocket: null,
      identityFiles: [],
      readyTimeoutMs: 10_000,
    });
  }

  connect(target: HostTarget, options?: { signal?: AbortSignal }): Promise<HostConnection> {
    if (target.jump || !this.lab.isLabTarget(target)) {
      return Promise.reject(
        new UstartError(
          'DemoRefused',
          `the demo transport connects only to the demo lab's hosts on 127.0.0.1; ${target.name} (${target.address}:${target.port}${target.jump ? ` via ${target.jump.address}` : ''}) is not one. Run a real site with "ustart run PLAN".`,
          { detail: { host: target.name } },
        ),
      );
    }
    return this.inner.connect(target, options);
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
