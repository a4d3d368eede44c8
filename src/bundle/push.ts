/**
 * Carrying a verified bundle to a host and serving it there: a folder bundle as one tar
 * stream through one exec, checked file by file on the host before anything is renamed into
 * place (push-stream.ts), an archive bundle uploaded as it is (resumable, checked) and
 * unpacked and checked there; every entry's sha256 is checked on the host, either way.
 * Then apt pointed at the bundle's
 * repository ONLY (every other source moved aside, restorable), and images imported into
 * containerd. A bundle that did not verify is never pushed, so nothing is installed from it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isUstartError, messageOf, UstartError } from '../errors.js';
import type { HostConnection, HostTarget, Transport } from '../ssh/transport.js';
import { APT_DIR } from './apt-repo.js';
import { throttleProgress, type BundleEvent, type BundleEventListener } from './events.js';
import { MANIFEST_NAME, SIGNATURE_NAME, type EntryKind, type ManifestEntry } from './manifest.js';
import { partsManifestName, parsePartsManifest } from './split.js';
import {
  isFetchFailure,
  stagingFor,
  streamOnce,
  type StreamFile,
  type StreamProgress,
  type StreamPush,
} from './push-stream.js';
import type { VerifyReport } from './verify.js';
import { readRegularFile } from '../util/user-file.js';

/** Where a bundle lives on a host. */
export const REMOTE_BUNDLE_DIR = '/var/lib/ustart/bundle';
/** The one apt source left on a host served from a bundle. */
export const BUNDLE_SOURCE_FILE = '/etc/apt/sources.list.d/ustart-bundle.sources';
/** Where the host's own apt sources are moved, to be restored by restoreHostApt. */
export const DISABLED_SOURCES_DIR = '/etc/apt/ustart-disabled-sources';

export interface PushOptions {
  remoteDir?: string;
  /** Entry kinds the host needs (a folder bundle uploads only these); all when absent. */
  kinds?: readonly EntryKind[];
  /** Run the host-side commands through sudo (for a non-root login). */
  sudo?: boolean;
  /** Reconnect-and-resume attempts per file after a dropped link. */
  retries?: number;
  onEvent?: BundleEventListener;
  signal?: AbortSignal;
}

/** The result of a push: the host's bundle folder and the entries now verified there. */
export interface PushedBundle {
  host: string;
  remoteDir: string;
  entries: ManifestEntry[];
}

/**
 * Uploads a verified bundle to one host and checks every entry's sha256 there. Opens its
 * own connection (and reconnects after a dropped link); closes it before returning.
 */
export function pushBundle(
  transport: Transport,
  target: HostTarget,
  report: VerifyReport,
  options: PushOptions = {},
): Promise<PushedBundle> {
  return pushOne(transport, target, report, options, undefined);
}

/**
 * A folder bundle to `target` fetched from `from` (a host of the site serving its checked
 * copy, serveBundleFolder) instead of sent from here: only the fetch list and the check list
 * cross this machine's link. Every file is checked on `target` as by pushBundle. Throws an
 * error for which isFetchFailure is true when the host could not get the files from there
 * (no curl, unreachable, a missing file): the caller then pushes from here.
 */
export async function fetchBundle(
  transport: Transport,
  target: HostTarget,
  report: VerifyReport,
  from: ServedBundle,
  options: PushOptions = {},
): Promise<PushedBundle> {
  if (report.container !== 'folder') {
    throw new UstartError('StepFailed', `only a folder bundle is fetched host to host`);
  }
  return pushOne(transport, target, report, options, from);
}

/** pushBundle; with `fetchFrom`, a folder's files come from that URL, not from here. */
async function pushOne(
  transport: Transport,
  target: HostTarget,
  report: VerifyReport,
  options: PushOptions,
  fetchFrom: ServedBundle | undefined,
): Promise<PushedBundle> {
  if (!report.ok || !report.manifest) {
    throw new UstartError(
      report.signatureValid ? 'BundleCorrupt' : 'BundleSignature',
      `the bundle ${report.bundle} did not verify (${report.problems[0]?.message ?? 'no manifest'}); nothing was pushed to ${target.name}.`,
    );
  }
  const remoteDir = options.remoteDir ?? REMOTE_BUNDLE_DIR;
  const emit = throttleProgress(options.onEvent);
  const link = new Link(transport, target, options);
  try {
    const needed = neededEntries(report.manifest.entries, options);
    const files = await uploadList(report, needed, remoteDir);
    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    emit({ type: 'phase-started', phase: 'upload', totalBytes, totalItems: files.length });
    if (report.container === 'folder') {
      const push = { remoteDir, emit, totalBytes, options, fetchFrom };
      await streamFolder(link, files, needed, report, push);
    } else {
      await uploadArchive(link, files, needed, report, remoteDir, emit, totalBytes, target);
    }
    emit({ type: 'phase-finished', phase: 'upload' });
    return { host: target.name, remoteDir, entries: needed };
  } finally {
    await link.close();
  }
}

/**
 * A folder bundle: one tar stream through one exec, unpacked into a staging folder, every
 * file checked there in one pass, then renamed into place (push-stream.ts). A dropped
 * link reconnects and resumes from what the staging folder holds.
 */
async function streamFolder(
  link: Link,
  files: readonly UploadFile[],
  needed: readonly ManifestEntry[],
  report: VerifyReport,
  {
    remoteDir,
    emit,
    totalBytes,
    options,
    fetchFrom,
  }: {
    remoteDir: string;
    emit: BundleEventListener;
    totalBytes: number;
    options: PushOptions;
    fetchFrom: ServedBundle | undefined;
  },
): Promise<void> {
  const push: StreamPush = {
    ...(await streamPushOf(files, needed, report, remoteDir, options)),
    ...(fetchFrom !== undefined ? { fetchFrom: fetchFrom.url, fetchFromHost: fetchFrom.host } : {}),
  };
  const streamed = push.files;
  const finished = new Set<string>();
  let current = streamed[0]?.name ?? '';
  const progress: StreamProgress = {
    progressed: (item, itemDoneBytes, doneBytes) => {
      current = item;
      emit({ type: 'progressed', phase: 'upload', doneBytes, totalBytes, item, itemDoneBytes });
    },
    finished: (item) => {
      if (finished.has(item)) return;
      finished.add(item);
      emit({ type: 'item-finished', phase: 'upload', item });
    },
  };
  await link.withRetries(
    () => current,
    (connection) => streamOnce(connection, push, progress),
  );
  // Fetched files are reported when the host has them all, checked.
  for (const f of streamed) progress.finished(f.name);
}

/** The entries a host needs: those of `options.kinds` and the apt index, or all. */
function neededEntries(entries: readonly ManifestEntry[], options: PushOptions): ManifestEntry[] {
  // The apt index goes wherever packages go; `kinds` only narrows a folder's upload.
  return entries.filter(
    (e) => !options.kinds || options.kinds.includes(e.kind) || e.path.startsWith(`${APT_DIR}/`),
  );
}

/** The stream of a folder bundle's `needed` entries (and its manifest and signature). */
async function streamPushOf(
  files: readonly UploadFile[],
  needed: readonly ManifestEntry[],
  report: VerifyReport,
  remoteDir: string,
  options: PushOptions,
): Promise<StreamPush> {
  const digests = new Map(needed.map((e) => [e.path, e.sha256]));
  const streamed: StreamFile[] = await Promise.all(
    files.map(async (f) => ({
      name: f.name,
      local: f.local,
      size: f.size,
      executable: f.executable,
      // The manifest and its signature are not entries: their digests are taken here.
      sha256: digests.get(f.name) ?? (await sha256File(f.local)),
    })),
  );
  return {
    files: streamed,
    remoteDir,
    staging: stagingFor(remoteDir, report.manifest!.digest, streamed),
    mtime: new Date(report.manifest!.createdAt),
    ...(options.sudo ? { sudo: true } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/**
 * The stream a folder bundle's push sends (every entry, or those of `options.kinds`), for
 * the chain relay (push-relay.ts); with its entries.
 */
export async function folderStream(
  report: VerifyReport,
  options: PushOptions = {},
): Promise<{ push: StreamPush; entries: ManifestEntry[] }> {
  if (!report.ok || !report.manifest || report.container !== 'folder') {
    throw new UstartError('StepFailed', `only a verified folder bundle is relayed host to host`);
  }
  const remoteDir = options.remoteDir ?? REMOTE_BUNDLE_DIR;
  const needed = neededEntries(report.manifest.entries, options);
  const files = await uploadList(report, needed, remoteDir);
  return { push: await streamPushOf(files, needed, report, remoteDir, options), entries: needed };
}

/**
 * A bundle to several hosts, crossing this machine's link once: the first host gets it
 * from here (pushBundle), then serves its checked bundle folder over HTTP on the site
 * network (`python3 -m http.server`, bound to the address uStart reaches it at, for the
 * length of the fan-out) and every other host fetches the files from it with `curl`. Only
 * the fetch list and the check list go from here to those hosts, over SSH; each host checks
 * every file against the signed manifest's digests before anything is put in place, so a
 * file damaged on the first host or on the way is refused, not spread. An archive bundle,
 * or a first host that cannot serve (no python3), falls back to pushBundle per host.
 */
export async function pushBundleToHosts(
  transport: Transport,
  targets: readonly HostTarget[],
  report: VerifyReport,
  options: FanOutOptions = {},
): Promise<PushedBundle[]> {
  const [first, ...rest] = targets;
  if (!first) return [];
  const pushed = await pushBundle(transport, first, report, hostOptions(options, first));
  return [pushed, ...(await fetchBundleFrom(transport, first, pushed, rest, report, options))];
}

/**
 * The second half of pushBundleToHosts: `source`, which holds the checked bundle
 * (`pushed`), serves it and `targets` fetch it from there, each checking every file.
 */
export async function fetchBundleFrom(
  transport: Transport,
  source: HostTarget,
  pushed: PushedBundle,
  targets: readonly HostTarget[],
  report: VerifyReport,
  options: FanOutOptions = {},
): Promise<PushedBundle[]> {
  if (targets.length === 0) return [];
  if (options.signal?.aborted) throw new UstartError('Cancelled', 'push cancelled');
  const server =
    report.container === 'folder'
      ? await serveBundleFolder(transport, source, pushed.remoteDir, options.signal)
      : undefined;
  let settled: PromiseSettledResult<PushedBundle>[];
  try {
    // Every host ends (fetched, failed, or pushed from here) before the server stops.
    settled = await Promise.allSettled(
      targets.map(async (t) => {
        const opts = { ...hostOptions(options, t), remoteDir: pushed.remoteDir };
        try {
          return await pushOne(transport, t, report, opts, server);
        } catch (e) {
          // The host could not fetch from the serving one (curl failed): from here instead.
          if (!server || !isFetchFailure(e) || options.signal?.aborted) throw e;
          const message = `${messageOf(e)}\npushing to ${t.name} from this machine instead`;
          opts.onEvent?.({ type: 'retried', phase: 'upload', item: '', attempt: 1, message });
          return await pushOne(transport, t, report, opts, undefined);
        }
      }),
    );
  } finally {
    await server?.stop();
  }
  return allDelivered(settled);
}

/** Every host's value; else the one failure, or one error naming them all. */
export function allDelivered<T>(settled: readonly PromiseSettledResult<T>[]): T[] {
  const failed = settled.filter((s) => s.status === 'rejected');
  if (failed.length === 1) throw failed[0]!.reason;
  if (failed.length > 1) {
    throw new UstartError(
      isUstartError(failed[0]!.reason) ? failed[0]!.reason.code : 'StepFailed',
      `the bundle did not reach ${failed.length} hosts:\n${failed.map((f) => `- ${messageOf(f.reason)}`).join('\n')}`,
      { cause: failed[0]!.reason },
    );
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** A bundle folder served over HTTP by `host` at `url`. */
export interface ServedBundle {
  url: string;
  host: string;
}

/** A running server (serveBundleFolder); `stop` ends it and waits until it has exited. */
export interface BundleServer extends ServedBundle {
  stop(): Promise<void>;
}

/** Options of a push to several hosts: events name their host. */
export type FanOutOptions = Omit<PushOptions, 'onEvent'> & {
  onEvent?: (host: string, event: BundleEvent) => void;
};

/** One host's options of a push to several: its events name it. */
export function hostOptions(options: FanOutOptions, target: HostTarget): PushOptions {
  const { onEvent, ...common } = options;
  return {
    ...common,
    ...(onEvent ? { onEvent: (e: BundleEvent) => onEvent(target.name, e) } : {}),
  };
}

/**
 * The web server on the serving host: python3's http.server handler
 * (docs/upstream-facts.md#python-http-server-no-range), its body copy done by the kernel
 * (`socket.sendfile`, os.sendfile on Linux, instead of shutil.copyfileobj's read/write
 * through Python; the headers are already sent, the handler's socket writer is unbuffered:
 * docs/upstream-facts.md#python-http-server-sendfile) in a thread, bound to argv[2] port argv[1], serving the
 * current folder. It prints the line serveBundleFolder waits for once bound, and ends the process
 * when its stdin reaches EOF: when serveBundleFolder stops it, and when the SSH connection is
 * lost (sshd closes the channel), so no server outlives the fan-out.
 */
const SERVER = [
  'import functools, http.server, os, socket, sys, threading',
  'port, addr = int(sys.argv[1]), sys.argv[2]',
  'class Handler(http.server.SimpleHTTPRequestHandler):',
  '    def log_message(self, *args): pass',
  '    def copyfile(self, source, outputfile): self.connection.sendfile(source)',
  'class Server(http.server.ThreadingHTTPServer):',
  '    address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET',
  'server = Server((addr, port), functools.partial(Handler, directory="."))',
  'print("Serving HTTP on", addr, "port", port, flush=True)',
  'threading.Thread(target=server.serve_forever, daemon=True).start()',
  'sys.stdin.read()',
  'os._exit(0)',
].join('\n');

/**
 * Serves `dir` on `target` over HTTP until stopped (or `signal` aborts, or the connection
 * is lost); undefined when the host cannot (no python3, the port taken twice): the caller
 * then pushes from here.
 */
export async function serveBundleFolder(
  transport: Transport,
  target: HostTarget,
  dir: string,
  signal: AbortSignal | undefined,
): Promise<BundleServer | undefined> {
  if (signal?.aborted) throw new UstartError('Cancelled', `push to ${target.name} cancelled`);
  const connection = await transport.connect(target, signal ? { signal } : {});
  for (let attempt = 0; attempt < 2; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const stop = new AbortController();
    const forward = () => stop.abort();
    signal?.addEventListener('abort', forward, { once: true });
    let out = '';
    let listening: () => void = () => undefined;
    const ready = new Promise<void>((r) => (listening = r));
    // stdin stays open until stop: its EOF ends the server (SERVER).
    let endStdin: () => void = () => undefined;
    const stdinEnds = new Promise<void>((r) => (endStdin = r));
    stop.signal.addEventListener('abort', () => endStdin(), { once: true });
    const stdin: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          await stdinEnds;
          return { done: true, value: undefined };
        },
      }),
    };
    const serving = connection.exec(
      `cd ${shq(dir)} && exec python3 -u -c ${shq(SERVER)} ${port} ${shq(target.address)}`,
      {
        stdin,
        signal: stop.signal,
        onStdout: (c) => {
          out += Buffer.from(c).toString('utf8');
          if (out.includes('Serving HTTP')) listening();
        },
      },
    );
    const ended = await Promise.race([ready.then(() => false), serving.then(() => true)]);
    if (!ended) {
      const host = target.address.includes(':') ? `[${target.address}]` : target.address;
      return {
        url: `http://${host}:${port}`,
        host: target.name,
        stop: async () => {
          stop.abort();
          await serving;
          signal?.removeEventListener('abort', forward);
          await connection.close();
        },
      };
    }
    endStdin();
    signal?.removeEventListener('abort', forward);
  }
  await connection.close();
  return undefined;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A tar or split bundle: the archive (or its parts) uploaded as it is, unpacked and checked on the host. */
async function uploadArchive(
  link: Link,
  files: readonly UploadFile[],
  needed: readonly ManifestEntry[],
  report: VerifyReport,
  remoteDir: string,
  emit: BundleEventListener,
  totalBytes: number,
  target: HostTarget,
): Promise<void> {
  const incoming = `${remoteDir}/.incoming`;
  await link.run(`mkdir -p ${shq(incoming)}`, 'create the bundle folders');
  const parcels = parcelsOf(files);
  const progress = new UploadProgress(emit, totalBytes);
  await inLanes(parcels, UPLOAD_LANES, async (parcel) => {
    await link.upload(parcel.file.local, parcel.remote, parcel.name, parcel.mode, (sent, of) =>
      progress.sent(parcel, sent, of),
    );
    progress.arrived(parcel);
  });
  // Unpacking and the check of what the host will use (the manifest's digests) share one
  // exec: each exec costs a round trip and a login shell on the host.
  const unpack = `cat ${files.map((f) => shq(f.remote)).join(' ')} | tar -x --no-same-owner -f - -C ${shq(remoteDir)} && rm -f ${files.map((f) => shq(f.remote)).join(' ')}`;
  const list = needed.map((e) => `${e.sha256}  ${e.path}\n`).join('');
  const check = await link.run(
    [
      `{ ${unpack}; } || exit ${UNPACK_FAILED}`,
      `cd ${shq(remoteDir)} && sha256sum --strict --quiet -c -`,
    ].join('\n'),
    'check the bundle on the host',
    list,
    true,
  );
  if (check.code === UNPACK_FAILED) {
    throw new UstartError(
      'StepFailed',
      `could not unpack the bundle in ${target.name}:${remoteDir}:\n${check.output.trim()}\nCheck the free space there, then push again.`,
      { detail: { host: target.name } },
    );
  }
  if (check.code !== 0) {
    throw new UstartError(
      'BundleCorrupt',
      `the bundle on ${target.name}:${remoteDir} does not match its manifest:\n${check.output.trim()}\nPush it again.`,
      { detail: { host: target.name } },
    );
  }
}

interface UploadFile {
  name: string;
  local: string;
  remote: string;
  size: number;
  /** Kind `binary`: 0755 on the host, as in the bundle's tar (docs/bundle-format.md). */
  executable: boolean;
}

/** What to upload: the entry files of a folder, or the archive (or its parts) as it is. */
async function uploadList(
  report: VerifyReport,
  entries: readonly ManifestEntry[],
  remoteDir: string,
): Promise<UploadFile[]> {
  const bundle = report.bundle;
  switch (report.container) {
    case 'folder': {
      const files = [
        { path: MANIFEST_NAME, executable: false },
        { path: SIGNATURE_NAME, executable: false },
        ...entries.map((e) => ({ path: e.path, executable: e.kind === 'binary' })),
      ];
      return Promise.all(
        files.map(async ({ path, executable }) => ({
          name: path,
          local: join(bundle, ...path.split('/')),
          remote: `${remoteDir}/${path}`,
          size: (await stat(join(bundle, ...path.split('/')))).size,
          executable,
        })),
      );
    }
    case 'tar': {
      const size = (await stat(bundle)).size;
      return [
        {
          name: 'bundle.tar',
          local: bundle,
          remote: `${remoteDir}/.incoming/bundle.tar`,
          size,
          executable: false,
        },
      ];
    }
    case 'parts': {
      const partsFile = bundle.endsWith('.parts.json')
        ? bundle
        : partsManifestName(bundle.replace(/\.part\d{3}$/, ''));
      const parts = parsePartsManifest(
        await readRegularFile(partsFile, { what: 'parts manifest', encoding: 'utf8' }),
        partsFile,
      );
      return parts.parts.map((p) => ({
        name: p.name,
        local: join(dirname(partsFile), p.name),
        remote: `${remoteDir}/.incoming/${p.name}`,
        size: p.size,
        executable: false,
      }));
    }
  }
}

/** Exit status of the host-side check when unpacking failed, told apart from a digest mismatch. */
const UNPACK_FAILED = 90;
/** Uploads at once over one connection: enough to hide each upload's round trips. */
const UPLOAD_LANES = 4;
/** An archive or one of its parts, uploaded as it is (resumable, checked, renamed). */
interface Parcel {
  name: string;
  remote: string;
  mode: number;
  size: number;
  file: UploadFile;
}

/** Largest first, so the lanes end close together. */
function parcelsOf(files: readonly UploadFile[]): Parcel[] {
  return files
    .map((file) => ({
      name: file.name,
      remote: file.remote,
      mode: file.executable ? 0o755 : 0o644,
      size: file.size,
      file,
    }))
    .sort((a, b) => b.size - a.size);
}

/**
 * Progress of parcels travelling at once: `doneBytes` counts the files' bytes, `item` is
 * the parcel the last bytes belong to.
 */
class UploadProgress {
  private arrivedBytes = 0;
  private readonly travelling = new Map<Parcel, number>();
  constructor(
    private readonly emit: BundleEventListener,
    private readonly totalBytes: number,
  ) {}

  sent(parcel: Parcel, sent: number, of: number): void {
    const done = of > 0 ? Math.floor((sent * parcel.size) / of) : parcel.size;
    this.travelling.set(parcel, done);
    const item = parcel.name;
    const itemDoneBytes = done;
    let doneBytes = this.arrivedBytes;
    for (const n of this.travelling.values()) doneBytes += n;
    this.emit({
      type: 'progressed',
      phase: 'upload',
      doneBytes,
      totalBytes: this.totalBytes,
      item,
      itemDoneBytes,
    });
  }

  arrived(parcel: Parcel): void {
    this.travelling.delete(parcel);
    this.arrivedBytes += parcel.size;
    this.emit({ type: 'item-finished', phase: 'upload', item: parcel.name });
  }
}

/**
 * Runs `work` over `items`, at most `lanes` at a time. After a failure no new item starts;
 * it rejects with the first failure once the running ones have settled, so nothing is
 * left using the connection when the caller closes it.
 */
async function inLanes<T>(
  items: readonly T[],
  lanes: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(lanes, items.length) }, lane),
  );
  const first = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (first) throw first.reason;
}

/**
 * One host's connection, reopened after a dropped link. Uploads resume from the temp file
 * the transport keeps beside the destination, so a retry sends only what is missing.
 */
class Link {
  /** The connection every lane shares; replaced once after a loss, not once per lane. */
  private connection: Promise<HostConnection> | undefined;
  constructor(
    private readonly transport: Transport,
    private readonly target: HostTarget,
    private readonly options: PushOptions,
  ) {}

  private connect(): Promise<HostConnection> {
    if (!this.connection) {
      const opening = this.transport.connect(
        this.target,
        this.options.signal ? { signal: this.options.signal } : {},
      );
      this.connection = opening;
      opening.catch(() => {
        if (this.connection === opening) this.connection = undefined;
      });
    }
    return this.connection;
  }

  /**
   * Runs `attempt` on the connection, reconnecting and running it again after a dropped
   * link (each attempt resumes what the last one left); `item` names what was in flight.
   */
  async withRetries(
    item: () => string,
    attempt: (connection: HostConnection) => Promise<void>,
  ): Promise<void> {
    const retries = this.options.retries ?? 3;
    for (let n = 0; ; n++) {
      let connection: HostConnection | undefined;
      try {
        connection = await this.connect();
        await attempt(connection);
        return;
      } catch (e) {
        if (!retryable(e) || n >= retries || this.options.signal?.aborted) throw e;
        this.options.onEvent?.({
          type: 'retried',
          phase: 'upload',
          item: item(),
          attempt: n + 1,
          message: messageOf(e),
        });
        if (connection) await this.drop(connection);
      }
    }
  }

  upload(
    source: string | Uint8Array,
    remote: string,
    name: string,
    mode: number,
    onProgress: (sent: number, total: number) => void,
  ): Promise<void> {
    return this.withRetries(
      () => name,
      (connection) =>
        uploadUnlessLost(connection, source, remote, mode, onProgress, this.options.signal),
    );
  }

  /** Runs a command as root (sudo when asked); throws unless `allowFailure`. */
  async run(
    command: string,
    what: string,
    stdin?: string,
    allowFailure = false,
  ): Promise<{ code: number; output: string }> {
    const connection = await this.connect();
    const chunks: Buffer[] = [];
    const collect = (c: Uint8Array) => chunks.push(Buffer.from(c));
    const outcome = await connection.exec(command, {
      onStdout: collect,
      onStderr: collect,
      ...(stdin !== undefined ? { stdin } : {}),
      ...(this.options.sudo ? { sudo: true } : {}),
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    const output = Buffer.concat(chunks).toString('utf8');
    const code = outcome.kind === 'exited' ? outcome.code : -1;
    if (code !== 0 && !allowFailure) {
      throw new UstartError(
        'StepFailed',
        `could not ${what} on ${this.target.name} (${outcome.kind === 'exited' ? `exit ${outcome.code}` : outcome.kind}):\n${output.trim()}`,
        { detail: { host: this.target.name } },
      );
    }
    return { code, output };
  }

  /** Drops `lost` unless another lane has already replaced it. */
  private async drop(lost: HostConnection): Promise<void> {
    const current = this.connection;
    if (current && (await current.catch(() => undefined)) === lost) {
      if (this.connection === current) this.connection = undefined;
    }
    await lost.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const current = this.connection;
    this.connection = undefined;
    await (await current?.catch(() => undefined))?.close().catch(() => undefined);
  }
}

/**
 * One upload that ends when the connection is lost: pending SFTP writes on a dead link may
 * never be answered, so the loss (the transport's keepalive) settles it, and the upload is
 * cancelled so it lets go of its file.
 */
async function uploadUnlessLost(
  connection: HostConnection,
  source: string | Uint8Array,
  remote: string,
  mode: number,
  onProgress: (sent: number, total: number) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const abort = new AbortController();
  const forward = () => abort.abort(signal?.reason);
  signal?.addEventListener('abort', forward, { once: true });
  const upload = connection.upload(source, remote, {
    mode,
    onProgress,
    signal: abort.signal,
  });
  const lost = connection.closed.then((how) => {
    abort.abort();
    throw new UstartError(
      'ConnectionLost',
      `the connection to ${connection.target.name} was lost while uploading ${remote}${how.message ? `: ${how.message}` : ''}`,
    );
  });
  try {
    await Promise.race([upload, lost]);
  } finally {
    signal?.removeEventListener('abort', forward);
    upload.catch(() => undefined);
    lost.catch(() => undefined);
  }
}

function retryable(e: unknown): boolean {
  return (
    isUstartError(e, 'ConnectionLost') ||
    isUstartError(e, 'ConnectionFailed') ||
    isUstartError(e, 'UploadFailed') ||
    isUstartError(e, 'CommandTimeout')
  );
}

/**
 * Points the host's apt at the bundle's repository only: every other source file is moved
 * to DISABLED_SOURCES_DIR (numbered backups, never overwritten), the bundle's source is
 * written, `apt-get update` drops the lists of the old sources. Fails if any internet
 * source is left. Restore with restoreHostApt.
 */
export async function configureHostApt(
  connection: HostConnection,
  options: { remoteDir?: string; sudo?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  const repo = `${options.remoteDir ?? REMOTE_BUNDLE_DIR}/${APT_DIR}`;
  // [trusted=yes] is sound here: the repository is a local folder only root writes, and
  // every file in it was checked on this host against the signed manifest's sha256.
  const source = `Types: deb\nURIs: file:${repo}\nSuites: ./\nTrusted: yes\n`;
  const script = [
    'set -eu',
    `aside=${shq(DISABLED_SOURCES_DIR)}`,
    'mkdir -p "$aside"',
    'if [ -e /etc/apt/sources.list ]; then mv --backup=numbered /etc/apt/sources.list "$aside/"; fi',
    'for f in /etc/apt/sources.list.d/*; do',
    `  [ -e "$f" ] && [ "$f" != ${shq(BUNDLE_SOURCE_FILE)} ] && mv --backup=numbered "$f" "$aside/"`,
    'done',
    `cat > ${shq(BUNDLE_SOURCE_FILE)}.tmp && mv ${shq(BUNDLE_SOURCE_FILE)}.tmp ${shq(BUNDLE_SOURCE_FILE)}`,
    'apt-get update -q -o Acquire::Languages=none',
    // Nothing that reaches out may be left: no source, no downloaded list of one.
    'if grep -rlsE "(https?|ftp)://" /etc/apt/sources.list /etc/apt/sources.list.d/; then echo "an internet apt source is left" >&2; exit 3; fi',
    'if ls /var/lib/apt/lists | grep -E "^(https?|ftp)"; then echo "lists of an internet source are left" >&2; exit 4; fi',
  ].join('\n');
  await hostScript(connection, script, source, 'point apt at the bundle', options);
}

/** Undoes configureHostApt: the host's own sources are put back, the bundle's source removed. */
export async function restoreHostApt(
  connection: HostConnection,
  options: { sudo?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  const script = [
    'set -eu',
    `aside=${shq(DISABLED_SOURCES_DIR)}`,
    `rm -f ${shq(BUNDLE_SOURCE_FILE)}`,
    '[ -d "$aside" ] || exit 0',
    'if [ -e "$aside/sources.list" ]; then mv "$aside/sources.list" /etc/apt/sources.list; fi',
    'for f in "$aside"/*; do [ -e "$f" ] && mv "$f" /etc/apt/sources.list.d/; done',
    'rmdir "$aside"',
  ].join('\n');
  await hostScript(connection, script, undefined, 'restore the apt sources', options);
}

/** Installs packages from the configured bundle repository (no recommends: the bundle holds none). */
export async function installFromBundle(
  connection: HostConnection,
  packages: readonly string[],
  options: { sudo?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  const script = `DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${packages.map(shq).join(' ')}`;
  await hostScript(
    connection,
    script,
    undefined,
    `install ${packages.join(', ')} from the bundle`,
    options,
  );
}

/**
 * Imports every `image` entry into containerd's k8s.io namespace (no registry needed). Each
 * image keeps the name its archive gives it (`io.containerd.image.name`, else the OCI ref
 * name). An OCI layout whose blob does not match its digest is refused before import, so
 * nothing of it is recorded.
 * `address` is containerd's socket when it is not the default one.
 */
export async function importImages(
  connection: HostConnection,
  pushed: PushedBundle,
  options: { sudo?: boolean; signal?: AbortSignal; address?: string } = {},
): Promise<string[]> {
  const images = pushed.entries.filter((e) => e.kind === 'image').map((e) => e.path);
  const ctr = options.address ? `ctr --address ${shq(options.address)}` : 'ctr';
  // ctr records an image even when one of its blobs does not match the digest it is filed
  // under (only the unpack fails), so an OCI layout's blobs, each named by its sha256, are
  // checked in one streaming pass before containerd sees the archive.
  const checkBlob =
    'h=$(sha256sum | cut -d" " -f1); [ "$h" = "${TAR_FILENAME##*/}" ] || { echo "$TAR_FILENAME: its content does not match its sha256 name" >&2; exit 1; }';
  for (const image of images) {
    const archive = shq(`${pushed.remoteDir}/${image}`);
    await hostScript(
      connection,
      [
        'set -e',
        `if tar -tf ${archive} --wildcards '*oci-layout' >/dev/null 2>&1; then`,
        `  tar -xf ${archive} --wildcards '*blobs/sha256/*' --to-command=${shq(checkBlob)}`,
        'fi',
        `${ctr} -n k8s.io images import ${archive}`,
      ].join('\n'),
      undefined,
      `import ${image} into containerd`,
      options,
    );
  }
  return images;
}

async function hostScript(
  connection: HostConnection,
  script: string,
  stdin: string | undefined,
  what: string,
  options: { sudo?: boolean; signal?: AbortSignal },
): Promise<void> {
  const chunks: Buffer[] = [];
  const collect = (c: Uint8Array) => chunks.push(Buffer.from(c));
  // The script goes in as an argument of sh -c; stdin is left for the data it reads.
  const outcome = await connection.exec(`sh -c ${shq(script)}`, {
    onStdout: collect,
    onStderr: collect,
    ...(stdin !== undefined ? { stdin } : {}),
    ...(options.sudo ? { sudo: true } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (outcome.kind !== 'exited' || outcome.code !== 0) {
    throw new UstartError(
      'StepFailed',
      `could not ${what} on ${connection.target.name} (${outcome.kind === 'exited' ? `exit ${outcome.code}` : outcome.kind}):\n` +
        Buffer.concat(chunks).toString('utf8').trim().split('\n').slice(-15).join('\n'),
      { detail: { host: connection.target.name } },
    );
  }
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
