/**
 * The Transport port over ssh2 (docs/ssh.md): auth by agent, key files (passphrases asked
 * through the CredentialStore) and password; host keys always verified against known_hosts;
 * an optional jump host with its own host-key check and credentials; exec with a remote
 * kill that is confirmed; upload with a remote checksum and an atomic rename.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type {
  AuthenticationType,
  ClientChannel,
  ConnectConfig,
  NextAuthHandler,
  ParsedKey,
  SFTPWrapper,
} from 'ssh2';
import { UstartError, isUstartError, messageOf } from '../errors.js';
import { NO_CREDENTIALS, type CredentialStore } from './credentials.js';
import { describeDetection, keepaliveSettings, type KeepaliveSettings } from './keepalive.js';
import { fingerprint, hostPattern, keyType, type KnownHosts } from './known-hosts.js';
import { StderrFilter, killGroupScript, wrapCommand } from './remote-exec.js';
import { openShell, type ShellChannel, type ShellOptions } from './interactive-shell.js';
import { checkedUpload } from './upload-checked.js';
import { batchSocketWrites } from './upload-exec.js';
import type {
  ExecOptions,
  ExecOutcome,
  HostConnection,
  HostTarget,
  Transport,
  UploadOptions,
} from './transport.js';
import { readRegularFile } from '../util/user-file.js';

const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;
type Hop = Omit<HostTarget, 'jump'>;

/**
 * AES-GCM first: with AES-NI it is the fastest cipher OpenSSH and ssh2 share (bench/sftp.ts);
 * chacha20 for hosts without it.
 */
export const CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes256-ctr',
] as const;

/**
 * After a hard timeout or a cancel, the most an exec waits for the remote kill to be
 * confirmed and its channel to close (the kill itself gives up after 6 s, remote-exec.ts).
 */
export const DEFAULT_STOP_GRACE_MS = 10_000;

export interface Ssh2TransportOptions {
  knownHosts: KnownHosts;
  credentials?: CredentialStore;
  /** Like OpenSSH's `StrictHostKeyChecking=accept-new`: unknown keys are recorded; changed keys are still refused. */
  acceptNewHostKeys?: boolean;
  /** ssh-agent socket; SSH_AUTH_SOCK when absent, none when null. */
  agentSocket?: string | null;
  /** Key files tried after a host's own; ~/.ssh/id_ed25519, id_ecdsa, id_rsa when absent. */
  identityFiles?: string[];
  /** SSH keepalive every this many ms (15 s); see keepalive.ts. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives in a row that end the connection (3): a dead link is noticed within interval × count. */
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
  /**
   * After a hard timeout or a cancel, how long the transport waits for the remote kill to be
   * confirmed and the channel to close before it ends the exec on this side (10 s).
   */
  stopGraceMs?: number;
  /** Handshakes in flight through one jump host at once. */
  maxHandshakesPerJump?: number;
}

export class Ssh2Transport implements Transport {
  private readonly connections = new Set<Ssh2Connection>();
  private readonly jumps = new Map<string, JumpLink>();
  private readonly credentials: CredentialStore;
  private readonly keepalive: KeepaliveSettings;

  constructor(private readonly options: Ssh2TransportOptions) {
    this.credentials = options.credentials ?? NO_CREDENTIALS;
    this.keepalive = keepaliveSettings(options);
  }

  async connect(
    target: HostTarget,
    options: { signal?: AbortSignal } = {},
  ): Promise<HostConnection> {
    let client: Client;
    let release: (() => void) | undefined;
    if (target.jump) {
      const link = await this.jumpLink(target.jump, options.signal);
      link.refs += 1;
      release = () => link.release();
      try {
        await link.slots.acquire();
        try {
          const sock = await new Promise<Duplex>((resolve, reject) =>
            link.client.forwardOut('127.0.0.1', 0, target.address, target.port, (err, stream) =>
              err
                ? reject(
                    new UstartError(
                      'ConnectionFailed',
                      `jump host ${target.jump!.name} could not reach ${target.name} (${target.address}:${target.port}): ${err.message}. Check the address and that sshd runs there.`,
                      { cause: err, detail: { host: target.name } },
                    ),
                  )
                : resolve(stream),
            ),
          );
          client = await this.handshake(target, options.signal, sock);
        } finally {
          link.slots.release();
        }
      } catch (e) {
        release();
        throw e;
      }
    } else {
      client = await this.handshake(target, options.signal);
    }
    const conn = new Ssh2Connection(target, client, this.credentials, {
      keepalive: this.keepalive,
      stopGraceMs: this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    });
    this.connections.add(conn);
    void conn.closed.then(() => {
      this.connections.delete(conn);
      release?.();
    });
    return conn;
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.connections].map((c) => c.close()));
    await Promise.all([...this.jumps.values()].map((j) => j.close()));
  }

  private async jumpLink(hop: Hop, signal?: AbortSignal): Promise<JumpLink> {
    const key = `${hop.user}@${hostPattern(hop.address, hop.port)}`;
    let link = this.jumps.get(key);
    if (!link) {
      link = new JumpLink(this.handshake(hop, signal), this.options.maxHandshakesPerJump ?? 8, () =>
        this.jumps.delete(key),
      );
      this.jumps.set(key, link);
    }
    try {
      await link.ready;
    } catch (e) {
      this.jumps.delete(key);
      throw e;
    }
    return link;
  }

  /** One SSH handshake to `hop`, over `sock` when given (a channel through a jump host). */
  private handshake(hop: Hop, signal?: AbortSignal, sock?: Duplex): Promise<Client> {
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let hostKeyError: UstartError | undefined;
      const tried: string[] = [];
      const onAbort = () => {
        client.end();
        reject(new UstartError('Cancelled', `connecting to ${hop.name} was cancelled`));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const config: ConnectConfig = {
        host: hop.address,
        port: hop.port,
        username: hop.user,
        ...(sock ? { sock } : {}),
        readyTimeout: this.options.readyTimeoutMs ?? 20_000,
        // A dead link ends the connection within interval × count (keepalive.ts): ssh2 gives
        // up one interval later than OpenSSH's ServerAliveCountMax, so it gets one less.
        keepaliveInterval: this.keepalive.intervalMs,
        keepaliveCountMax: this.keepalive.ssh2CountMax,
        algorithms: { cipher: [...CIPHERS] },
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          this.verifyHostKey(hop, key).then(
            () => verify(true),
            (e: unknown) => {
              hostKeyError = isUstartError(e)
                ? e
                : new UstartError(
                    'ConnectionFailed',
                    `checking the host key of ${hop.name}: ${messageOf(e)}`,
                  );
              verify(false);
            },
          );
        },
        authHandler: this.authHandler(hop, tried),
      };
      client.once('ready', () => {
        signal?.removeEventListener('abort', onAbort);
        client.removeAllListeners('error');
        resolve(client);
      });
      client.once('error', (err: Error & { level?: string }) => {
        signal?.removeEventListener('abort', onAbort);
        // The socket may report its own end after the first error; that one says nothing new.
        client.on('error', () => undefined);
        client.end();
        if (hostKeyError) return reject(hostKeyError);
        if (err.level === 'client-authentication') {
          return reject(
            new UstartError(
              'AuthFailed',
              `could not log in to ${hop.name} (${hop.address}:${hop.port}) as ${hop.user}: tried ${tried.join(', ') || 'nothing (no agent, key or password available)'}. Check the user, load the key into ssh-agent, or give the password.`,
              { cause: err, detail: { host: hop.name, user: hop.user, tried: [...tried] } },
            ),
          );
        }
        const timeout = err.level === 'client-timeout';
        reject(
          new UstartError(
            'ConnectionFailed',
            timeout
              ? `no SSH handshake with ${hop.name} (${hop.address}:${hop.port}) within ${(this.options.readyTimeoutMs ?? 20_000) / 1000} s. Check that the host is up and reachable.`
              : `could not connect to ${hop.name} (${hop.address}:${hop.port}): ${err.message}. Check the address, the port and the network path.`,
            { cause: err, detail: { host: hop.name } },
          ),
        );
      });
      client.connect(config);
      // Without TCP_NODELAY every small request (a channel open, an exit status) waits on
      // Nagle's algorithm: measured 180 ms per exec on loopback, 2–17 ms with it.
      client.setNoDelay(true);
    });
  }

  private async verifyHostKey(hop: Hop, key: Buffer): Promise<void> {
    const { knownHosts } = this.options;
    const verdict = await knownHosts.check(hop.address, hop.port, key);
    const fp = fingerprint(key);
    const where = `${hop.name} (${hostPattern(hop.address, hop.port)})`;
    switch (verdict.kind) {
      case 'known':
        return;
      case 'unknown':
        if (this.options.acceptNewHostKeys) {
          await knownHosts.add(hop.address, hop.port, key);
          return;
        }
        throw new UstartError(
          'HostKeyUnknown',
          `the host key of ${where} is not known: ${keyType(key)} ${fp}. Compare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on its console); if it matches, connect again with --accept-new-host-keys to record it in ${knownHosts.appFile}.`,
          {
            detail: {
              host: hop.name,
              address: hop.address,
              port: hop.port,
              fingerprint: fp,
              keyType: keyType(key),
            },
          },
        );
      case 'mismatch':
        throw new UstartError(
          'HostKeyMismatch',
          `the host key of ${where} has CHANGED: it offered ${fp}, but ${verdict.where} holds ${verdict.known.join(', ')}. Someone may be intercepting the connection, or the host was reinstalled. Refused. If you know the host was reinstalled, remove the old key (ssh-keygen -R ${hostPattern(hop.address, hop.port)} -f ${knownHosts.appFile}) and connect again with --accept-new-host-keys.`,
          {
            detail: {
              host: hop.name,
              fingerprint: fp,
              knownFingerprints: verdict.known,
              where: verdict.where,
            },
          },
        );
      case 'revoked':
        throw new UstartError(
          'HostKeyMismatch',
          `the host key of ${where} (${fp}) is marked @revoked in ${verdict.where}. Refused; ask the site's administrators for the host's current key.`,
          { detail: { host: hop.name, fingerprint: fp, where: verdict.where } },
        );
      default:
        throw new Error(`unhandled host key verdict ${JSON.stringify(verdict)}`);
    }
  }

  /** Auth order: agent, then key files (the host's own first), then a password from the store. */
  private authHandler(hop: Hop, tried: string[]) {
    const agent =
      this.options.agentSocket === undefined ? process.env.SSH_AUTH_SOCK : this.options.agentSocket;
    const defaults =
      this.options.identityFiles ??
      ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f));
    const files = [...new Set([...(hop.identityFiles ?? []), ...defaults])].filter((f) =>
      existsSync(f),
    );
    type Step = () => Promise<Parameters<NextAuthHandler>[0] | undefined>;
    const steps: Step[] = [];
    if (agent) {
      steps.push(async () => {
        tried.push('ssh-agent');
        return { type: 'agent', username: hop.user, agent };
      });
    }
    for (const file of files) {
      steps.push(async () => {
        const key = await this.loadKey(file);
        if (!key) return undefined;
        tried.push(`key ${file}`);
        return { type: 'publickey', username: hop.user, key };
      });
    }
    steps.push(async () => {
      const password = await this.credentials.get({
        kind: 'password',
        host: hop.name,
        user: hop.user,
      });
      if (password === undefined) return undefined;
      tried.push('password');
      return { type: 'password', username: hop.user, password };
    });
    const allowed: Record<string, AuthenticationType> = {
      agent: 'publickey',
      publickey: 'publickey',
      password: 'password',
    };
    return (
      methodsLeft: AuthenticationType[] | null,
      _partial: boolean | null,
      next: NextAuthHandler,
    ) => {
      const advance = async (): Promise<void> => {
        const step = steps.shift();
        if (!step) return next(false as unknown as Parameters<NextAuthHandler>[0]);
        const method = await step().catch(() => undefined);
        if (!method) return advance();
        const kind = typeof method === 'string' ? method : method.type;
        if (methodsLeft && !methodsLeft.includes(allowed[kind] ?? (kind as AuthenticationType)))
          return advance();
        next(method);
      };
      void advance();
    };
  }

  /** Reads a private key, asking for its passphrase when it is encrypted. The passphrase is not kept. */
  private async loadKey(file: string): Promise<ParsedKey | undefined> {
    const data = await readRegularFile(file, { what: 'SSH key', code: 'AuthFailed' });
    const plain = utils.parseKey(data);
    if (!(plain instanceof Error)) return Array.isArray(plain) ? plain[0] : plain;
    if (!/encrypted|passphrase/i.test(plain.message)) return undefined;
    const passphrase = await this.credentials.get({ kind: 'passphrase', keyPath: file });
    if (passphrase === undefined) return undefined;
    const key = utils.parseKey(data, passphrase);
    if (key instanceof Error) return undefined;
    return Array.isArray(key) ? key[0] : key;
  }
}

/** A shared connection to a jump host, with a cap on handshakes in flight through it. */
class JumpLink {
  client!: Client;
  refs = 0;
  readonly slots: Semaphore;
  readonly ready: Promise<void>;

  constructor(
    connecting: Promise<Client>,
    maxHandshakes: number,
    private readonly onClose: () => void,
  ) {
    this.slots = new Semaphore(maxHandshakes);
    this.ready = connecting.then((c) => {
      this.client = c;
      c.on('error', () => undefined);
      c.once('close', () => this.onClose());
    });
  }

  release(): void {
    this.refs -= 1;
    if (this.refs === 0) void this.close();
  }

  async close(): Promise<void> {
    this.onClose();
    await this.ready.catch(() => undefined);
    if (this.client) await endClient(this.client);
  }
}

export class Semaphore {
  private waiting: (() => void)[] = [];
  private free: number;

  constructor(size: number) {
    this.free = size;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

function endClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const sock = (client as unknown as { _sock?: { destroyed?: boolean } })._sock;
    if (!sock || sock.destroyed) return resolve();
    client.once('close', () => resolve());
    client.end();
  });
}

interface ConnectionSettings {
  keepalive: KeepaliveSettings;
  stopGraceMs: number;
}

class Ssh2Connection implements HostConnection {
  readonly closed: Promise<{ reason: 'closed' | 'lost'; message?: string }>;
  private lostMessage: string | undefined;
  private closing = false;
  private isClosed = false;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  /** The last upload started per remote path, so uploads to one path run in turn. */
  private readonly uploads = new Map<string, Promise<void>>();

  constructor(
    readonly target: HostTarget,
    private readonly client: Client,
    private readonly credentials: CredentialStore,
    private readonly settings: ConnectionSettings,
  ) {
    client.on('error', (err: Error) => {
      this.lostMessage ??=
        err.message === 'Keepalive timeout'
          ? `${target.name} answered no SSH keepalive for ${describeDetection(settings.keepalive)}: the link or the host is down`
          : err.message;
    });
    this.closed = new Promise((resolve) => {
      client.once('close', () => {
        this.isClosed = true;
        if (this.closing && this.lostMessage === undefined) resolve({ reason: 'closed' });
        else
          resolve({
            reason: 'lost',
            message: this.lostMessage ?? 'the server closed the connection',
          });
      });
    });
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecOutcome> {
    if (this.isClosed) return this.lost();
    const sudoPassword = options.sudo
      ? await this.credentials.get({ kind: 'sudo', host: this.target.name, user: this.target.user })
      : undefined;
    const wrapped = wrapCommand(
      command,
      options.sudo ? (sudoPassword === undefined ? 'no-password' : 'password') : false,
    );
    let stream: ClientChannel;
    let early: { code: number | null; signal?: string } | undefined;
    try {
      stream = await new Promise<ClientChannel>((resolve, reject) =>
        this.client.exec(wrapped.line, (err, s) => {
          if (err) return reject(err);
          // ssh2 emits 'exit' once, possibly in the same read as the channel's opening,
          // before the code after this await runs: catch it here or the outcome is lost.
          s.once('exit', (code: number | null, signal?: string) => {
            early = { code, signal };
          });
          resolve(s);
        }),
      );
    } catch (e) {
      // ssh2 throws "Not connected" once the socket is ending, before the connection's
      // 'close' (docs/upstream-facts.md#ssh2.not-connected): that is a lost connection,
      // not a command that could not start.
      if (await this.goneOrGoing()) return this.lost();
      throw new UstartError(
        'ConnectionFailed',
        `could not start a command on ${this.target.name}: ${messageOf(e)}`,
        {
          cause: e,
        },
      );
    }

    return new Promise<ExecOutcome>((resolve) => {
      let exit: ExecOutcome | undefined;
      let stopped: 'timeout' | 'cancelled' | undefined;
      let remoteKilled = false;
      let killing: Promise<void> | undefined;
      /** False while the kill's channel waits for the host to answer its opening. */
      let killAnswered = true;
      let settled = false;
      let channelClosed = false;
      let channelDone: () => void = () => undefined;
      const channelClosing = new Promise<void>((r) => (channelDone = r));
      let pgid: number | undefined;
      let pgidKnown: () => void = () => undefined;
      const pgidReady = new Promise<void>((r) => (pgidKnown = r));
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      let unflow: (() => void) | undefined;

      const sendStdin = () => {
        const input = options.stdin;
        if (input === undefined || typeof input === 'string' || input instanceof Uint8Array) {
          if (input !== undefined) stream.write(input);
          stream.end();
          return;
        }
        batchSocketWrites(this.client);
        // Stops at once on a cancel or timeout: nothing more is sent to a process being killed.
        const over = () => settled || channelClosed || stopped !== undefined;
        void pumpStdin(stream, input, channelClosing, over).catch(() => closeChannel());
      };
      const filter = new StderrFilter(wrapped, {
        onPgid: (id) => {
          pgid = id;
          pgidKnown();
          // Read only for the marker after a stop (below): back to the consumer's pace.
          if (options.flow?.paused && unflow) stream.stderr.pause();
        },
        onPrompt: (first) => {
          if (first && sudoPassword !== undefined) stream.write(`${sudoPassword}\n`);
          else stream.end();
        },
        onStart: sendStdin,
        // Nothing reaches the caller once the exec has ended on this side.
        onData: (chunk) => settled || options.onStderr?.(chunk),
      });
      stream.on('data', (chunk: Buffer) => settled || options.onStdout?.(chunk));
      stream.stderr.on('data', (chunk: Buffer) => filter.write(chunk));
      const onExit = (code: number | null, signal?: string) => {
        if (typeof code === 'number') exit = { kind: 'exited', code };
        else if (signal)
          exit = { kind: 'signalled', signal: signal.startsWith('SIG') ? signal : `SIG${signal}` };
      };
      if (early) onExit(early.code, early.signal);
      else stream.on('exit', onExit);

      unflow = options.flow?.onChange((paused) => {
        if (paused) {
          stream.pause();
          stream.stderr.pause();
        } else {
          stream.resume();
          stream.stderr.resume();
        }
      });
      if (options.flow?.paused) {
        stream.pause();
        stream.stderr.pause();
      }

      const settle = (outcome: ExecOutcome) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        options.signal?.removeEventListener('abort', onAbort);
        unflow?.();
        filter.flush();
        resolve(outcome);
      };
      const closeChannel = () => {
        if (channelClosed) return;
        try {
          stream.close();
        } catch {
          // The connection is already gone; its close ends the channel too.
        }
      };
      /**
       * The grace after a timeout or cancel has passed without the kill confirmed and the
       * channel closed: end the exec on this side and say the kill is not confirmed. When the
       * host did not even answer the kill's channel, the connection is stuck: end it too, so
       * nothing else waits on it (its other commands end `connection-lost`).
       */
      const giveUp = () => {
        if (settled || !stopped) return;
        if (!killAnswered && !this.isClosed) {
          this.lostMessage ??= `${this.target.name} did not answer for ${this.settings.stopGraceMs / 1000} s after a ${stopped === 'timeout' ? 'hard timeout' : 'cancel'}; uStart closed the connection`;
          this.client.destroy();
        }
        closeChannel();
        settle({ kind: stopped, remoteKilled: false });
      };
      const stop = (why: 'timeout' | 'cancelled') => {
        if (stopped || exit || settled) return;
        stopped = why;
        graceTimer = setTimeout(giveUp, this.settings.stopGraceMs);
        // The group id is the first thing on stderr: a flow paused from the start holds it
        // back, so read stderr until it comes.
        if (pgid === undefined) stream.stderr.resume();
        killing = (async () => {
          await Promise.race([pgidReady, this.closed, channelClosing]);
          if (pgid !== undefined && !this.isClosed && !channelClosed) {
            remoteKilled = await this.killGroup(
              pgid,
              options.sudo === true,
              sudoPassword,
              (answered) => (killAnswered = answered),
            );
          }
          // The kill is done (or could not be): read what is left without back pressure.
          // Once the group is gone that is at most a channel window, and a paused stream
          // would never report the channel's close
          // (docs/upstream-facts.md#ssh2.channel-close-after-end).
          unflow?.();
          unflow = undefined;
          stream.resume();
          stream.stderr.resume();
          closeChannel();
        })();
      };
      const timer =
        options.timeoutMs !== undefined
          ? setTimeout(() => stop('timeout'), options.timeoutMs)
          : undefined;
      const onAbort = () => stop('cancelled');
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });

      stream.once('close', () => {
        channelClosed = true;
        channelDone();
        void (async () => {
          await killing;
          if (stopped) return settle({ kind: stopped, remoteKilled });
          if (exit) return settle(exit);
          // A channel that closed without an exit status: the connection went, or the
          // server never said. Neither is success.
          await Promise.race([this.closed, new Promise((r) => setImmediate(r))]);
          if (this.isClosed || this.lostMessage) return settle(this.lost());
          settle({ kind: 'unknown' });
        })();
      });
    });
  }

  shell(options: ShellOptions): Promise<ShellChannel> {
    return openShell(this.client, this.target.name, options);
  }

  upload(source: string | Uint8Array, remotePath: string, options?: UploadOptions): Promise<void> {
    // Two uploads to one path share its temp file (the name is derived from the path, so an
    // interrupted upload can resume): parallel steps that upload the same shared file run
    // one after the other instead of renaming each other's temp file away.
    const before = this.uploads.get(remotePath) ?? Promise.resolve();
    const mine = before
      .catch(() => undefined)
      .then(() =>
        checkedUpload(
          {
            name: this.target.name,
            client: this.client,
            sftp: () => this.sftp(),
            run: (command, sudo) => this.run(command, sudo),
          },
          source,
          remotePath,
          options,
        ),
      )
      .catch(async (e: unknown) => {
        // Whatever broke the upload (a channel closed mid-way, ssh2's "Not connected"), a
        // connection that is gone makes it a lost connection: the engine says so instead of
        // "failed", and the temp file stays for a resume.
        if (!isUstartError(e, 'Cancelled') && (await this.goneOrGoing())) {
          throw new UstartError(
            'ConnectionLost',
            `the connection to ${this.target.name} was lost during the upload to ${remotePath}: ${this.lost().message}`,
            { cause: e, detail: { host: this.target.name, remotePath } },
          );
        }
        throw e;
      });
    this.uploads.set(remotePath, mine);
    const forget = () => {
      if (this.uploads.get(remotePath) === mine) this.uploads.delete(remotePath);
    };
    mine.then(forget, forget);
    return mine;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (!this.isClosed) this.client.end();
    await this.closed;
  }

  private lost(): { kind: 'connection-lost'; message: string } {
    return {
      kind: 'connection-lost',
      message: this.lostMessage ?? `the connection to ${this.target.name} closed`,
    };
  }

  /**
   * True when the connection is closed or closing. A socket that no longer writes (the
   * server ended it) closes within a moment; this waits for that so `lost()` has the reason.
   */
  private async goneOrGoing(): Promise<boolean> {
    if (this.isClosed || this.lostMessage !== undefined) return true;
    const sock = (
      this.client as unknown as { _sock?: { writable?: boolean; readableEnded?: boolean } }
    )._sock;
    if (sock && sock.writable === true && sock.readableEnded !== true) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.closed, new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    return true;
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) =>
      this.client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))),
    );
    return this.sftpSession;
  }

  /** Runs a helper command (checksum, rename) and returns its stdout; a non-zero exit rejects. */
  private async run(command: string, sudo = false): Promise<string> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const outcome = await this.exec(command, {
      sudo,
      onStdout: (c) => out.push(Buffer.from(c)),
      onStderr: (c) => err.push(Buffer.from(c)),
    });
    if (outcome.kind === 'exited' && outcome.code === 0) return Buffer.concat(out).toString('utf8');
    throw new Error(
      `\`${command.split(' ')[0]}\` on ${this.target.name} ended ${JSON.stringify(outcome)}: ${Buffer.concat(err).toString('utf8').trim()}`,
    );
  }

  /**
   * Kills a remote process group from a second channel; true when it is confirmed gone.
   * `answered(false)` while the host has not answered the channel's opening. Never rejects.
   */
  private async killGroup(
    pgid: number,
    sudo: boolean,
    password: string | undefined,
    answered: (yes: boolean) => void,
  ): Promise<boolean> {
    const wrapped = wrapCommand(
      killGroupScript(pgid),
      sudo ? (password === undefined ? 'no-password' : 'password') : false,
    );
    return new Promise<boolean>((resolve) => {
      answered(false);
      try {
        this.client.exec(wrapped.line, (err, stream) => {
          answered(true);
          if (err) return resolve(false);
          let code: number | undefined;
          const filter = new StderrFilter(wrapped, {
            onPgid: () => undefined,
            onPrompt: (first) =>
              first && password !== undefined ? stream.write(`${password}\n`) : stream.end(),
            onStart: () => stream.end(),
            onData: () => undefined,
          });
          stream.stderr.on('data', (c: Buffer) => filter.write(c));
          stream.on('data', () => undefined);
          stream.on('exit', (c: number | null) => (code = c ?? undefined));
          stream.once('close', () => resolve(code === 0));
        });
      } catch {
        // ssh2's "Not connected": nothing can be killed from here.
        answered(true);
        resolve(false);
      }
    });
  }
}

/**
 * Streams `input` into the channel's stdin, waiting for 'drain' (ssh2's channel window)
 * between writes, then ends stdin. Stops, without ending stdin, once the channel has closed
 * or the exec has ended; rejects when the iterable throws (the caller closes the channel).
 */
async function pumpStdin(
  stream: ClientChannel,
  input: AsyncIterable<Uint8Array>,
  channelClosing: Promise<void>,
  over: () => boolean,
): Promise<void> {
  const chunks = input[Symbol.asyncIterator]();
  const gone = channelClosing.then(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([chunks.next(), gone]);
      if (next === undefined || over()) return;
      if (next.done) break;
      if (!stream.write(next.value)) {
        await Promise.race([new Promise((r) => stream.once('drain', r)), gone]);
      }
    }
    if (!over()) stream.end();
  } finally {
    void chunks.return?.()?.catch(() => undefined);
  }
}
