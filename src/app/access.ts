/**
 * How the core reaches a plan's hosts: the consultant's access settings (user, key, agent,
 * jump host), the secrets the SSH transport asks for, and host keys — the app's own
 * known_hosts plus keys the consultant accepted for this session only.
 *
 * Secrets live in memory for the session, or, when the consultant asks to remember one and
 * the front offers a real keychain (Electron's safeStorage), in that keychain. They are
 * never written to a plan, a log, the journal or a command line.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AccessSettings, FrontEvents, SecretRef } from '../api/index.js';
import { UstartError, unreachable } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import type { CredentialRequest, CredentialStore } from '../ssh/credentials.js';
import { KnownHosts, fingerprint, hostPattern, type HostKeyVerdict } from '../ssh/known-hosts.js';
import { SshConfig } from '../ssh/ssh-config.js';
import { Ssh2Transport } from '../ssh/ssh2-transport.js';
import { targetFromPlan, type HostRoute } from '../engine/plan-targets.js';
import type { HostTarget, Transport } from '../ssh/transport.js';
import { readStateFile, writeStateFile } from './state-file.js';
import { z } from 'zod';

/**
 * A keychain for secrets the consultant asks to remember (Electron: safeStorage). A front
 * without a real secret store passes none, or one whose `canRemember` is false with the
 * reason, and the core keeps secrets in memory only.
 */
export interface SecretVault {
  readonly canRemember: boolean;
  /** Why secrets cannot be remembered (shown to the consultant). */
  readonly reason?: string;
  get(key: string): Promise<string | undefined>;
  /** Throws when the keychain refuses. */
  set(key: string, value: string): Promise<void>;
  clear(): Promise<void>;
}

/** How long the transport waits for the consultant to answer `secret:needed`. */
const ASK_TIMEOUT_MS = 5 * 60_000;

function keyOf(ref: SecretRef): string {
  switch (ref.kind) {
    case 'password':
      return `password:${ref.user}@${ref.host}`;
    case 'sudo':
      return `sudo:${ref.user}@${ref.host}`;
    case 'passphrase':
      return `passphrase:${ref.keyPath}`;
    default:
      throw unreachable(ref);
  }
}

/** The secrets of this session, the keychain behind them, and asking the front for more. */
export class SecretKeeper implements CredentialStore {
  private readonly memory = new Map<string, string>();
  private readonly asking = new Map<
    number,
    { key: string; resolve: (v: string | undefined) => void; timer: NodeJS.Timeout }
  >();
  private nextRequest = 1;
  private readonly inflight = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly events: FrontEvents,
    private readonly vault?: SecretVault,
  ) {}

  info(): { kind: 'keychain' | 'session'; canRemember: boolean; reason?: string } {
    if (!this.vault) {
      return {
        kind: 'session',
        canRemember: false,
        reason: 'In browser mode secrets are held in memory for this session only.',
      };
    }
    return {
      kind: 'keychain',
      canRemember: this.vault.canRemember,
      ...(this.vault.reason ? { reason: this.vault.reason } : {}),
    };
  }

  async provide(
    ref: SecretRef,
    value: string | null,
    remember: boolean,
    requestId?: number,
  ): Promise<'keychain' | 'session' | 'none'> {
    const key = keyOf(ref);
    let stored: 'keychain' | 'session' | 'none' = 'none';
    if (value !== null) {
      if (remember) {
        if (!this.vault?.canRemember) {
          throw new UstartError(
            'Unsupported',
            `cannot remember the secret: ${this.info().reason ?? 'no keychain is available'}. It was not stored; give it again without "remember" to use it for this session.`,
          );
        }
        await this.vault.set(key, value);
        stored = 'keychain';
      } else stored = 'session';
      this.memory.set(key, value);
    }
    const pending = requestId === undefined ? undefined : this.asking.get(requestId);
    if (pending) {
      clearTimeout(pending.timer);
      this.asking.delete(requestId!);
      pending.resolve(value ?? undefined);
    }
    return stored;
  }

  async forget(): Promise<void> {
    this.memory.clear();
    await this.vault?.clear();
  }

  /** The transport's port: memory, then the keychain, then the consultant. */
  async get(request: CredentialRequest): Promise<string | undefined> {
    const key = keyOf(request);
    const known = this.memory.get(key) ?? (await this.vault?.get(key).catch(() => undefined));
    if (known !== undefined) {
      this.memory.set(key, known);
      return known;
    }
    // The transport fetches the sudo password before every sudo command, needed or not
    // (root and NOPASSWD users need none): it is given up front, never asked for.
    if (request.kind === 'sudo') return undefined;
    // Thirty connections needing the same passphrase ask the consultant once.
    const inflight = this.inflight.get(key);
    if (inflight) return inflight;
    const requestId = this.nextRequest++;
    const asked = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.asking.delete(requestId);
        resolve(undefined);
      }, ASK_TIMEOUT_MS);
      this.asking.set(requestId, { key, resolve, timer });
      this.events.emit('secret:needed', { requestId, ref: request });
    }).finally(() => this.inflight.delete(key));
    this.inflight.set(key, asked);
    return asked;
  }

  /** Every secret value known, for redaction in logs and events. */
  values(): string[] {
    return [...this.memory.values()];
  }

  dispose(): void {
    for (const [, p] of this.asking) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.asking.clear();
  }
}

/**
 * uStart's known_hosts with keys accepted for this session on top: a key the consultant
 * accepted once is trusted by its exact fingerprint, for that host and port only.
 */
export class SessionKnownHosts extends KnownHosts {
  private readonly pinned = new Map<string, { fingerprint: string; remember: boolean }>();

  pin(address: string, port: number, fp: string, remember: boolean): void {
    this.pinned.set(hostPattern(address, port), { fingerprint: fp, remember });
  }

  unpin(address: string, port: number): void {
    this.pinned.delete(hostPattern(address, port));
  }

  override async check(host: string, port: number, keyBlob: Uint8Array): Promise<HostKeyVerdict> {
    const verdict = await super.check(host, port, keyBlob);
    if (verdict.kind !== 'unknown') return verdict;
    const pin = this.pinned.get(hostPattern(host, port));
    if (!pin || pin.fingerprint !== fingerprint(keyBlob)) return verdict;
    if (pin.remember) {
      await this.add(host, port, keyBlob);
      this.pinned.delete(hostPattern(host, port));
    }
    return { kind: 'known' };
  }
}

const AccessFile = z.record(
  z.string(),
  z.object({
    user: z.string(),
    keyPath: z.string().nullable(),
    agent: z.boolean(),
    jumpHost: z
      .object({ address: z.string(), port: z.number(), user: z.string().optional() })
      .nullable(),
  }),
);

export interface AccessOptions {
  stateDir: string;
  events: FrontEvents;
  vault?: SecretVault;
  /** Extra known_hosts files trusted read-only (default: ~/.ssh/known_hosts). */
  readOnlyKnownHosts?: string[];
  /** ~/.ssh/config, or another file; `null` to read none. */
  sshConfigFile?: string | null;
  route?: HostRoute;
}

/** Access settings per plan, secrets, host keys, and transports built from them. */
export class Access {
  readonly secrets: SecretKeeper;
  readonly knownHosts: SessionKnownHosts;
  private readonly file: string;

  constructor(private readonly opts: AccessOptions) {
    this.secrets = new SecretKeeper(opts.events, opts.vault);
    this.file = join(opts.stateDir, 'access.json');
    this.knownHosts = new SessionKnownHosts(
      join(opts.stateDir, 'known_hosts'),
      opts.readOnlyKnownHosts ?? [join(homedir(), '.ssh', 'known_hosts')],
    );
  }

  async settings(planFile: string, plan: Plan): Promise<AccessSettings> {
    const saved = (await readStateFile(this.file, AccessFile, {}))[planFile];
    if (saved) return saved;
    const jump = plan.access.jumpHost;
    return {
      user: plan.access.user,
      keyPath: null,
      agent: true,
      jumpHost: jump ? { address: jump.address, port: jump.port ?? 22, user: jump.user } : null,
    };
  }

  async save(planFile: string, settings: AccessSettings): Promise<void> {
    const all = await readStateFile(this.file, AccessFile, {});
    all[planFile] = settings;
    await writeStateFile(this.file, all);
  }

  /**
   * True for a plan whose hosts are the route's (the demo lab's). Throws the route's
   * refusal (`DemoRefused`) for a plan it neither owns nor lets through.
   */
  async routed(planFile: string): Promise<boolean> {
    return (await this.opts.route?.owns(planFile)) ?? false;
  }

  /** The state folder (known_hosts, BMC certificates, access settings). */
  get stateDir(): string {
    return this.opts.stateDir;
  }

  /** The consultant's ssh config (~/.ssh/config unless the options name another or none). */
  sshConfig(): Promise<SshConfig> {
    return this.opts.sshConfigFile === null
      ? Promise.resolve(SshConfig.empty())
      : SshConfig.load(
          // A file of its own is read alone, as `ssh -F FILE` reads it.
          this.opts.sshConfigFile === undefined
            ? {}
            : { file: this.opts.sshConfigFile, systemFile: null },
        );
  }

  /** Every planned host's SSH target with the consultant's settings applied. */
  async targets(planFile: string, plan: Plan): Promise<Map<string, HostTarget>> {
    if (await this.routed(planFile)) return this.opts.route!.targets(planFile, plan);
    const s = await this.settings(planFile, plan);
    const config = await this.sshConfig();
    const effective: Plan = {
      ...plan,
      access: {
        user: s.user,
        ...(s.jumpHost
          ? {
              jumpHost: {
                address: s.jumpHost.address,
                port: s.jumpHost.port,
                ...(s.jumpHost.user ? { user: s.jumpHost.user } : {}),
              },
            }
          : {}),
      },
    };
    const extraKeys = s.keyPath ? [s.keyPath] : [];
    return new Map(
      plan.servers.map((server) => {
        const t = targetFromPlan(effective, server, config);
        return [
          server.hostname,
          { ...t, identityFiles: [...extraKeys, ...(t.identityFiles ?? [])] },
        ];
      }),
    );
  }

  /** A transport with these settings; the caller disposes of it. */
  async transport(planFile: string, plan: Plan): Promise<Transport> {
    if (await this.routed(planFile)) return this.opts.route!.transport(planFile, plan);
    const s = await this.settings(planFile, plan);
    const transport = new Ssh2Transport({
      knownHosts: this.knownHosts,
      credentials: this.secrets,
      agentSocket: s.agent ? undefined : null,
      // With a key given, only that key and the agent: the default keys of the laptop
      // are someone else's choice.
      ...(s.keyPath ? { identityFiles: [] } : {}),
      readyTimeoutMs: 15_000,
    });
    return this.opts.route ? this.opts.route.fence(transport) : transport;
  }

  dispose(): void {
    this.secrets.dispose();
  }
}
