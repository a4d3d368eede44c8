/**
 * A folder bundle to N hosts as a chain relay: the first host receives the tar stream from
 * this machine over SSH and, as it unpacks it, passes the same bytes on to the second host
 * over the site network, the second to the third, … Every host's receiver unpacks and
 * checks its own copy against the signed manifest's digests (the check list comes to each
 * host from this machine over SSH, never through the relay) before anything is put in
 * place. The time is one transfer plus a hop per host, and each host's uplink carries one
 * copy (docs/ssh.md, "Bundle to N hosts (goal 3)").
 *
 * No SSH keys between hosts: before the stream starts, this machine starts on every other
 * host, over its own SSH connection, the receiver under RELAY (push-stream.ts) reading from
 * a one-shot TCP listener bound to the address uStart reaches that host at, on a port the
 * kernel picks; RELAY reports the port on the SSH channel, accepts one connection, from the
 * upstream host's address only, and ends (with its receiver) when that channel reaches EOF.
 *
 * Any failure (a listener that cannot start, a refused connection, a host lost mid-stream,
 * a check that fails) ends with every host either holding its checked bundle or pushed to
 * from this machine (pushBundle: resumable, it continues from what the relay left in the
 * host's staging folder), the reason in that host's log. A host whose listener did not
 * start is left out of the chain (its upstream passes the bytes to the host after it).
 * A tar or split bundle, or a single host, is pushed to from here (pushBundle per host).
 */
import { isUstartError, messageOf, UstartError } from '../errors.js';
import type { HostConnection, HostTarget, Transport } from '../ssh/transport.js';
import { throttleProgress } from './events.js';
import {
  allDelivered,
  folderStream,
  hostOptions,
  pushBundle,
  type FanOutOptions,
  type PushedBundle,
} from './push.js';
import {
  EXIT,
  receiverCommand,
  relayEvent,
  streamOnce,
  type StreamProgress,
  type StreamPush,
} from './push-stream.js';
import type { VerifyReport } from './verify.js';

export interface RelayOptions extends FanOutOptions {
  /** Each line of a host's relay log (RELAY's timestamped events, why a host was pushed to from here). */
  onLog?: (host: string, line: string) => void;
}

/** A host's bundle, and how it got there. */
export interface RelayedBundle extends PushedBundle {
  /** The host whose relay delivered it, or `this machine`. */
  from: string;
  /** The host's relay log: RELAY's `ustart-relay EPOCH WHAT …` lines, and any fallback's reason. */
  log: string[];
}

export const FROM_HERE = 'this machine';

/**
 * Delivers a verified bundle to `targets` as a chain relay (see the file comment). Every
 * host ends (relayed, failed, or pushed to from here) before it returns; the first failure
 * (or all of them) is thrown after.
 */
export async function relayBundleToHosts(
  transport: Transport,
  targets: readonly HostTarget[],
  report: VerifyReport,
  options: RelayOptions = {},
): Promise<RelayedBundle[]> {
  return allDelivered(await relayToEach(transport, targets, report, options));
}

/** relayBundleToHosts, each host's outcome apart (in the order of `targets`). */
export async function relayToEach(
  transport: Transport,
  targets: readonly HostTarget[],
  report: VerifyReport,
  options: RelayOptions = {},
): Promise<PromiseSettledResult<RelayedBundle>[]> {
  const { onLog: _onLog, ...fanOut } = options;
  if (report.container !== 'folder' || targets.length < 2) {
    // Nothing to relay: a push from here per host (an archive is unpacked on each).
    return Promise.allSettled(
      targets.map(async (t) => ({
        ...(await pushBundle(transport, t, report, hostOptions(fanOut, t))),
        from: FROM_HERE,
        log: [],
      })),
    );
  }
  if (options.signal?.aborted) throw new UstartError('Cancelled', 'push cancelled');
  const { push, entries } = await folderStream(report, hostOptions(fanOut, targets[0]!));
  const logs = new Map<string, string[]>(targets.map((t) => [t.name, []]));
  const log = (host: string, line: string) => {
    logs.get(host)?.push(line);
    options.onLog?.(host, line);
  };
  const [first, ...rest] = targets as [HostTarget, ...HostTarget[]];

  // 1. A listener on every other host, at once; those that cannot start are left out.
  const started = await Promise.all(
    rest.map((t) => Downstream.start(transport, t, push, options.signal, log)),
  );
  const chain: Downstream[] = [];
  for (const d of started) {
    if (d.port !== undefined) chain.push(d);
  }
  // 2. Each host learns its upstream (the only peer it accepts) and where to pass bytes on:
  //    hop 0 is the first host, hop k + 1 is chain[k].
  const onward = (k: number) => {
    const next = chain[k];
    return next ? `${next.target.address} ${next.port}` : '- -';
  };
  chain.forEach((d, k) =>
    d.configure(k === 0 ? first.address : chain[k - 1]!.target.address, onward(k + 1)),
  );

  // 3. The first host from here, its receiver under RELAY reading the stream from stdin.
  const head = `- ${onward(0)} 0 0\n`;
  const firstDone = relayFirst(
    transport,
    first,
    { ...push, relay: { address: first.address, head } },
    options,
    log,
  );
  // A host whose upstream ended without connecting to it gets no stream: end its listener.
  const hops: Promise<unknown>[] = [firstDone, ...chain.map((d) => d.done)];
  chain.forEach((d, k) => {
    void hops[k]!.catch(() => undefined).then(() => {
      if (!d.connected) d.end();
    });
  });

  // 4. Each host: its relay's outcome, or a push from here saying why.
  const fromHere = async (t: HostTarget, why: string): Promise<RelayedBundle> => {
    for (const line of why.split('\n').filter(Boolean)) log(t.name, `# uStart: ${line}`);
    log(t.name, `# uStart: pushing to ${t.name} from this machine instead`);
    const pushed = await pushBundle(transport, t, report, hostOptions(fanOut, t));
    return { ...pushed, from: FROM_HERE, log: logs.get(t.name)! };
  };
  const relayed = (t: HostTarget, from: string): RelayedBundle => ({
    host: t.name,
    remoteDir: push.remoteDir,
    entries,
    from,
    log: logs.get(t.name)!,
  });
  const orFromHere = async (
    t: HostTarget,
    done: Promise<void>,
    from: string,
  ): Promise<RelayedBundle> => {
    try {
      await done;
      return relayed(t, from);
    } catch (e) {
      if (options.signal?.aborted || isUstartError(e, 'Cancelled')) throw e;
      return fromHere(t, messageOf(e));
    }
  };
  const settled = await Promise.allSettled(
    targets.map((t, k) => {
      if (k === 0) return orFromHere(t, firstDone, FROM_HERE);
      const d = started[k - 1]!;
      if (d.port === undefined) return fromHere(t, d.why);
      const at = chain.indexOf(d);
      return orFromHere(t, d.done, at === 0 ? first.name : chain[at - 1]!.target.name);
    }),
  );
  await Promise.all(started.map((d) => d.close()));
  return settled;
}

/** The first host: the stream from here, once (a failure falls back to a push from here). */
async function relayFirst(
  transport: Transport,
  target: HostTarget,
  push: StreamPush,
  options: RelayOptions,
  log: (host: string, line: string) => void,
): Promise<void> {
  const host = target.name;
  const hostEvent = options.onEvent;
  const emit = throttleProgress(hostEvent ? (e) => hostEvent(host, e) : undefined);
  const totalBytes = push.files.reduce((n, f) => n + f.size, 0);
  emit({ type: 'phase-started', phase: 'upload', totalBytes, totalItems: push.files.length });
  const progress: StreamProgress = {
    progressed: (item, itemDoneBytes, doneBytes) =>
      emit({ type: 'progressed', phase: 'upload', doneBytes, totalBytes, item, itemDoneBytes }),
    finished: (item) => emit({ type: 'item-finished', phase: 'upload', item }),
    relayed: (line) => log(host, line),
  };
  const connection = await transport.connect(target, push.signal ? { signal: push.signal } : {});
  try {
    await streamOnce(connection, push, progress);
    emit({ type: 'phase-finished', phase: 'upload' });
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** A host after the first: its receiver under RELAY, listening. */
class Downstream {
  port: number | undefined;
  /** Why its listener did not start (when `port` is undefined). */
  why = '';
  /** True once its upstream host connected. */
  connected = false;
  /** Settles when its receiver ended: resolved when it holds the bundle, checked. */
  done: Promise<void> = Promise.resolve();
  private feed: (head: string) => void = () => undefined;
  private stdinEnds: () => void = () => undefined;

  private constructor(
    readonly target: HostTarget,
    private readonly connection: HostConnection | undefined,
    private readonly push: StreamPush,
  ) {}

  /** Starts the listener; resolves once it reports its port or has ended. */
  static async start(
    transport: Transport,
    target: HostTarget,
    push: StreamPush,
    signal: AbortSignal | undefined,
    log: (host: string, line: string) => void,
  ): Promise<Downstream> {
    let connection: HostConnection;
    try {
      connection = await transport.connect(target, signal ? { signal } : {});
    } catch (e) {
      const d = new Downstream(target, undefined, push);
      d.why = `could not start the relay's listener on ${target.name}: ${messageOf(e)}`;
      return d;
    }
    const d = new Downstream(target, connection, push);
    await d.run(signal, (line) => log(target.name, line));
    return d;
  }

  private async run(signal: AbortSignal | undefined, log: (line: string) => void): Promise<void> {
    const host = this.target.name;
    const control = `${this.push.staging}.relay`;
    // stdin: the head line and the check list, once configured; then open until `end`.
    let head: (text: string) => void = () => undefined;
    const headed = new Promise<string>((r) => (head = r));
    const ends = new Promise<void>((r) => (this.stdinEnds = r));
    const check = Buffer.from(this.push.files.map((f) => `${f.sha256}  ${f.name}\n`).join(''));
    const exec = Buffer.from(
      this.push.files
        .filter((f) => f.executable)
        .map((f) => `${f.name}\n`)
        .join(''),
    );
    async function* stdin(): AsyncGenerator<Uint8Array> {
      const line = await Promise.race([headed, ends.then(() => undefined)]);
      if (line === undefined) return;
      yield Buffer.concat([Buffer.from(`${line} ${check.length} ${exec.length}\n`), check, exec]);
      await ends;
    }
    this.feed = head;
    let listening: (port: number | undefined) => void = () => undefined;
    const reported = new Promise<number | undefined>((r) => (listening = r));
    let err = '';
    let out = '';
    let partial = '';
    const onStderr = (chunk: Uint8Array) => {
      const lines = (partial + Buffer.from(chunk).toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const event = relayEvent(line);
        if (!event) {
          if (err.length < 8192) err += `${line}\n`;
          continue;
        }
        log(line);
        if (event.what === 'listening') listening(Number(event.rest));
        if (event.what === 'connected') this.connected = true;
      }
    };
    const outcome = this.connection!.exec(
      receiverCommand(this.push, { address: this.target.address, mode: 'listen', control }),
      {
        stdin: stdin(),
        onStdout: (c) => {
          if (out.length < 8192) out += Buffer.from(c).toString('utf8');
        },
        onStderr,
        ...(this.push.sudo ? { sudo: true } : {}),
        ...(signal ? { signal } : {}),
      },
    );
    this.done = outcome.then((o) => {
      this.stdinEnds();
      if (o.kind === 'exited' && o.code === 0) return;
      const said = `${out.replace(/^[^]*ustart-send\n/, '')}\n${err}`
        .trim()
        .split('\n')
        .slice(-10)
        .join('\n');
      const how =
        o.kind !== 'exited'
          ? o.kind
          : o.code === EXIT.mismatch
            ? `what it received does not match the signed manifest, nothing was put in place: exit ${o.code}`
            : `exit ${o.code}`;
      if (o.kind === 'cancelled') throw new UstartError('Cancelled', `relay to ${host} cancelled`);
      throw new UstartError(
        'StepFailed',
        `${host} did not get a checked bundle through the relay (${how}${this.connected ? '' : ', its upstream host never connected'})${said ? `:\n${said}` : ''}`,
        { detail: { host } },
      );
    });
    this.done.catch(() => undefined);
    this.port = await Promise.race([reported, outcome.then(() => undefined)]);
    if (this.port === undefined) {
      this.why = `could not start the relay's listener on ${host} (python3 is needed there):\n${await this.done.then(
        () => 'it ended',
        (e: unknown) => messageOf(e),
      )}`;
    }
  }

  /**
   * Sends RELAY's head line (the upstream address it accepts; `onward`: `ADDRESS PORT` of
   * the next host, or `- -`) and the check and mode lists from here.
   */
  configure(upstream: string, onward: string): void {
    this.feed(`${upstream} ${onward}`);
  }

  /** Ends its SSH channel's stdin: RELAY kills its receiver and exits. */
  end(): void {
    this.stdinEnds();
  }

  async close(): Promise<void> {
    this.stdinEnds();
    await this.done.catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
  }
}
