/**
 * A folder bundle's delivery to one host as ONE stream: a tar of every file the host needs
 * goes into the stdin of one exec, which unpacks it into a staging folder, checks every
 * file's sha256 there in one pass (`sha256sum -c` of a list carried as the stream's last
 * member), and only then renames the files into the bundle folder. Nothing is paid per
 * file on the laptop's side: no receiver start, no round trip, no rename command per file
 * (docs/ssh.md, "Bundle push"; bench/bundle-push.ts).
 *
 * Resume: before the stream starts, the host lists what the staging folder already holds
 * (under a lock, so a receiver of a lost connection that is still writing is waited for). A
 * file already whole is not sent again; a file cut short gets only its missing tail, which
 * the host appends. The final check catches a kept file that holds anything else; the
 * staging folder is then removed, so the next push starts clean.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { messageOf, UstartError } from '../errors.js';
import type { HostConnection } from '../ssh/transport.js';

/** One file to deliver: its path in the bundle, where it is here, size, mode. */
export interface StreamFile {
  name: string;
  local: string;
  size: number;
  /** Kind `binary`: 0755 on the host, as in the bundle's tar (docs/bundle-format.md). */
  executable: boolean;
  sha256: string;
}

export interface StreamPush {
  files: readonly StreamFile[];
  remoteDir: string;
  /** The staging folder; derives from the bundle and the file set, so a retry finds it. */
  staging: string;
  mtime: Date;
  sudo?: boolean;
  signal?: AbortSignal;
  /**
   * Fetch the files from this URL (a host of the site that holds the checked bundle folder,
   * served over HTTP) instead of sending them: only the fetch list and the check list travel
   * from here. The check is the same, against digests sent from here.
   */
  fetchFrom?: string;
  /** The name of the host behind `fetchFrom`, for messages. */
  fetchFromHost?: string;
  /**
   * The chain relay (push-relay.ts): the receiver runs under RELAY, which passes every byte
   * of the stream on to the next host as it arrives. `head` is RELAY's first line (where to
   * pass the bytes on), sent before the tar; the tar then carries every file whole (the
   * next hosts' staging folders are not this host's, so no resume from this one's), and
   * nothing waits for the host's inventory.
   */
  relay?: { address: string; head: string };
}

/** Where the bytes are, for progress: `item` is the file the last bytes belong to. */
export interface StreamProgress {
  /** Bytes of `item` on the host (kept from an earlier attempt) or handed to the channel. */
  progressed(item: string, itemDoneBytes: number, doneBytes: number): void;
  /** `item`'s bytes are all kept or handed over. */
  finished(item: string): void;
  /** A line RELAY logged (StreamPush.relay). */
  relayed?(line: string): void;
}

/** Exit statuses of the receiver script, told apart in the messages. */
export const EXIT = {
  staging: 91,
  unpack: 92,
  mismatch: 93,
  locked: 94,
  move: 95,
  fetch: 96,
} as const;

/** How long a fetching host waits for the serving host's web server to accept a connection. */
export const FETCH_CONNECT_SECONDS = 10;

/** The receiver's control folder inside the staging folder (no bundle path starts with a dot). */
const CONTROL = '.ustart';

/**
 * Runs with argv `DEST STAGING [CONTROL]`; the tar comes on stdin. With CONTROL (a host of
 * the chain relay, whose stream came from another host), the check list and the mode list
 * are taken from that folder, written there from this machine over SSH, never from the
 * stream: a relay that changes a file cannot change its digest too. The lock is the staging folder's
 * parent (`DEST/.incoming`), a path no receiver removes: a receiver that waits for it
 * still waits on the inode the next holder locks, and creates and enters the staging folder
 * only once it holds it (an earlier receiver may have put its files in place and removed
 * the staging folder meanwhile; this one then starts from an empty one).
 */
const RECEIVER = [
  'set -u',
  'D=$1 S=$2 C=${3:--}',
  'umask 022',
  `mkdir -p "\${S%/*}" || exit ${EXIT.staging}`,
  // One receiver per bundle folder: a receiver of a lost connection may still be writing
  // (docs/upstream-facts.md#flock-directory-fd).
  `exec 9<"\${S%/*}" || exit ${EXIT.staging}`,
  `if command -v flock >/dev/null 2>&1; then flock -w 120 9 || { echo "another push into $D is still running" >&2; exit ${EXIT.locked}; }; fi`,
  `mkdir -p "$S" && cd "$S" || exit ${EXIT.staging}`,
  `rm -rf ${CONTROL}`,
  "echo ustart-have; find . -type f -printf '%s %P\\n'; echo ustart-send",
  `tar -x --no-same-owner -f - || exit ${EXIT.unpack}`,
  `if [ "$C" != - ]; then rm -rf ${CONTROL} && mkdir ${CONTROL} && cp "$C/check" "$C/exec" ${CONTROL}/ || exit ${EXIT.unpack}; fi`,
  // Fan-out (pushBundleToHosts): the files come from a host that already holds them. The
  // server ignores Range (docs/upstream-facts.md#python-http-server-no-range): a file kept
  // at another size is fetched again whole, never resumed. An empty list runs no curl (it
  // would exit 2, docs/upstream-facts.md#curl-no-url-exit-2); --fail-early makes any failed
  // file curl's exit status (docs/upstream-facts.md#curl-fail-early). A serving host behind a
  // firewall that drops the port fails the connect within FETCH_CONNECT_SECONDS instead of
  // curl's 300 s default (docs/upstream-facts.md#curl-connect-timeout); the caller then
  // pushes from this machine.
  `if [ -s ${CONTROL}/get ]; then tr '\\n' '\\0' < ${CONTROL}/get | xargs -0 -r rm -f -- || exit ${EXIT.unpack}; fi`,
  `if [ -s ${CONTROL}/fetch ]; then curl -fsS --fail-early --connect-timeout ${FETCH_CONNECT_SECONDS} --create-dirs -K ${CONTROL}/fetch 2>&1 || exit ${EXIT.fetch}; fi`,
  // Tails of files an earlier attempt left cut short.
  `if [ -d ${CONTROL}/tail ]; then`,
  `  (cd ${CONTROL}/tail && find . -type f -printf '%P\\n') | while IFS= read -r f; do cat "${CONTROL}/tail/$f" >> "$f" || exit 1; done || exit ${EXIT.unpack}`,
  'fi',
  // One check of every file; a staging folder that fails it is not kept for a resume.
  // OpenSSL's SHA-256 when the host has it (SHA-NI: several times faster than coreutils'
  // sha256sum, docs/ssh.md "Upload"), one process for all files: `dgst -r` prints
  // `HEX *PATH`, compared with the list in that form.
  'if command -v openssl >/dev/null 2>&1; then',
  `  sed 's/^\\([0-9a-f]*\\)  /\\1 */' ${CONTROL}/check > ${CONTROL}/want`,
  `  cut -c67- ${CONTROL}/check | tr '\\n' '\\0' | xargs -0 openssl dgst -sha256 -r -- > ${CONTROL}/got`,
  `  cmp -s ${CONTROL}/want ${CONTROL}/got || { diff ${CONTROL}/want ${CONTROL}/got | sed -n 's/^< [0-9a-f]* \\*\\(.*\\)$/\\1: FAILED/p'; false; }`,
  'else',
  `  sha256sum --strict --quiet -c ${CONTROL}/check 2>&1`,
  `fi || { cd / && rm -rf "$S"; exit ${EXIT.mismatch}; }`,
  // Every binary gets the mode the bundle's tar gives it (a fetched one has none yet).
  `if [ -f ${CONTROL}/exec ]; then tr '\\n' '\\0' < ${CONTROL}/exec | xargs -0 -r chmod 0755 -- || exit ${EXIT.unpack}; fi`,
  // Only what the check list names goes into place: a file the stream carried besides them
  // (a relayed stream comes from another host) or an earlier attempt left in staging is
  // removed, never moved unchecked into the bundle folder.
  `find . -path ./${CONTROL} -prune -o -type f -printf '%P\\n' | LC_ALL=C sort > ${CONTROL}/have`,
  `cut -c67- ${CONTROL}/check | LC_ALL=C sort | LC_ALL=C comm -23 ${CONTROL}/have - | tr '\\n' '\\0' | xargs -0 -r rm -f -- || exit ${EXIT.move}`,
  `rm -rf ${CONTROL}`,
  // rename(2) per file, one mv per folder: the bundle folder never holds a partial file.
  "find . -type d -printf '%P\\n' | while IFS= read -r d; do",
  '  mkdir -p "$D/$d" && find "./$d" -mindepth 1 -maxdepth 1 -type f -exec mv -f -t "$D/$d" -- {} + || exit 1',
  `done || exit ${EXIT.move}`,
  'cd / && rm -rf "$S"',
].join('\n');

/**
 * The chain relay's wrapper around RECEIVER (push-relay.ts), `python3 -c RELAY OWN MODE
 * CONTROL sh -c RECEIVER …`: it starts the receiver with a pipe for its stdin and passes
 * every chunk of the stream both into that pipe and on to the next host as it arrives, so
 * the hosts after this one receive while this one still does.
 *
 * MODE `stdin` (the first host): the stream is this command's stdin, from this machine.
 * MODE `listen` (every other host): it binds a TCP listener to OWN (the address uStart
 * reaches the host at) on a port the kernel picks (docs/upstream-facts.md#python-socket-
 * bind-port-0), reports it, accepts ONE connection whose peer address is the upstream
 * host's (anything else is closed and logged), and reads the stream from there. Its stdin
 * is the SSH channel: like SERVER (push.ts) the process ends when that reaches EOF, and it
 * kills the receiver's process group first, so nothing outlives the laptop's connection.
 *
 * Its stdin starts with one line, `UP NEXT PORT CHECKLEN EXECLEN`, then (MODE listen) the
 * receiver's check list and mode list, written into CONTROL: they come from this machine,
 * never through the relay. NEXT `-` is the chain's end. A next host that cannot be reached
 * or is lost mid-stream is logged and dropped (this host still receives); a receiver that
 * ends early is logged and the bytes still go on. A peer that vanishes without closing
 * (power lost) cannot hang the chain: no byte from upstream for 300 s ends the stream here
 * (the check then fails and this machine pushes instead), and a chunk the next host does
 * not take within 60 s drops that host (docs/upstream-facts.md#python-socket-timeout). Its events go to stderr as
 * `ustart-relay EPOCH WHAT …` lines: the laptop logs them per host (timestamps, so the
 * overlap between hosts shows). It exits with the receiver's status.
 *
 * Python behaviour it relies on: docs/upstream-facts.md#python-socket-accept-peer,
 * #python-getaddrinfo-sockaddr, #python-create-connection-source (the next host's peer
 * check sees this host's address), #python-sigpipe-ignored (a lost peer or receiver is an
 * OSError, not a signal), #python-popen-new-session (the receiver's group is killed as one),
 * #python-bufferedreader-readinto1 (head line, then the stream, from one reader).
 */
const RELAY = [
  'import os, shutil, signal, socket, subprocess, sys, threading, time',
  'own, mode, ctl = sys.argv[1], sys.argv[2], sys.argv[3]',
  'inp = sys.stdin.buffer',
  // A lost channel must not stop what follows a log line (the EOF watch's end()).
  'def say(*w):',
  '    try:',
  '        sys.stderr.write("ustart-relay %.6f %s\\n" % (time.time(), " ".join(str(x) for x in w)))',
  '        sys.stderr.flush()',
  '    except OSError: pass',
  'lsock = None',
  'if mode == "listen":',
  '    lsock = socket.socket(socket.AF_INET6 if ":" in own else socket.AF_INET)',
  '    lsock.bind((own, 0))',
  '    lsock.listen(8)',
  '    say("listening", lsock.getsockname()[1])',
  'child = subprocess.Popen(sys.argv[4:], stdin=subprocess.PIPE, start_new_session=True)',
  // CONTROL lives as long as this process: made here, removed on every way out.
  'def end(code):',
  '    try: os.killpg(child.pid, signal.SIGKILL)',
  '    except OSError: pass',
  '    if ctl != "-": shutil.rmtree(ctl, ignore_errors=True)',
  '    os._exit(code)',
  'head = inp.readline().split()',
  'if len(head) != 5: say("bad-head"); end(97)',
  'up, nh, np = (w.decode() for w in head[:3])',
  'if ctl != "-":',
  '    os.makedirs(ctl, exist_ok=True)',
  '    for name, n in (("check", int(head[3])), ("exec", int(head[4]))):',
  '        data = inp.read(n)',
  '        if len(data) != n: say("bad-control"); end(97)',
  '        with open(os.path.join(ctl, name), "wb") as f: f.write(data)',
  'def watch():',
  '    inp.read()',
  '    say("channel-closed")',
  '    end(98)',
  'if lsock:',
  '    threading.Thread(target=watch, daemon=True).start()',
  // The upstream's address as the kernel will report the peer (a name, or another spelling
  // of an IPv6 address, resolved to what accept() returns).
  '    try: ups = {a[4][0] for a in socket.getaddrinfo(up, None, type=socket.SOCK_STREAM)}',
  '    except OSError: ups = {up}',
  '    while True:',
  '        src, peer = lsock.accept()',
  '        if peer[0] in ups: break',
  '        say("refused", peer[0])',
  '        src.close()',
  '    lsock.close()',
  '    src.settimeout(300)',
  '    say("connected", peer[0])',
  '    recv = src.recv_into',
  'else:',
  '    recv = inp.readinto1',
  'nxt = None',
  'if nh != "-":',
  '    try:',
  '        nxt = socket.create_connection((nh, int(np)), timeout=10, source_address=(own, 0))',
  '        nxt.settimeout(60)',
  '        say("next-connected", nh)',
  '    except OSError as e: say("next-unreachable", nh, e)',
  'pipe = child.stdin.fileno()',
  'buf = bytearray(1 << 20)',
  'view = memoryview(buf)',
  'total, mine = 0, True',
  'while True:',
  '    try: n = recv(buf)',
  '    except OSError as e: say("source-lost", e); break',
  '    if not n: break',
  '    if total == 0: say("first-byte")',
  '    total += n',
  '    if nxt:',
  '        try: nxt.sendall(view[:n])',
  '        except OSError as e: say("next-lost", e); nxt.close(); nxt = None',
  '    v = view[:n]',
  '    while mine and v:',
  '        try: v = v[os.write(pipe, v):]',
  '        except OSError as e: say("receiver-gone", e); mine = False',
  'say("end-of-stream", total)',
  'if nxt: nxt.close()',
  'try: child.stdin.close()',
  'except OSError: pass',
  'code = child.wait()',
  'say("receiver-exit", code)',
  'end(code if code >= 0 else 99)',
].join('\n');

/**
 * The receiver's command line: RECEIVER alone, or under RELAY (`relay`: the host's address,
 * `stdin` or `listen`, and with `control` the folder for the check list from this machine).
 */
export function receiverCommand(
  push: Pick<StreamPush, 'remoteDir' | 'staging'>,
  relay?: { address: string; mode: 'stdin' | 'listen'; control?: string },
): string {
  const receiver = `sh -c ${shq(RECEIVER)} ustart-push ${shq(push.remoteDir)} ${shq(push.staging)}`;
  if (!relay) return receiver;
  const control = relay.control ?? '-';
  return (
    `exec python3 -u -c ${shq(RELAY)} ${shq(relay.address)} ${relay.mode} ${shq(control)} ` +
    `${receiver}${relay.control ? ` ${shq(relay.control)}` : ''}`
  );
}

/** A `ustart-relay EPOCH WHAT …` line of RELAY, split; undefined for any other line. */
export function relayEvent(line: string): { at: number; what: string; rest: string } | undefined {
  const m = /^ustart-relay (\d+\.\d+) (\S+) ?(.*)$/.exec(line);
  return m ? { at: Number(m[1]), what: m[2]!, rest: m[3]! } : undefined;
}

/** The staging folder of a push of `files` of the bundle with manifest digest `digest`. */
export function stagingFor(remoteDir: string, digest: string, files: readonly StreamFile[]) {
  const tag = createHash('sha256').update(digest);
  for (const f of files) tag.update(`\0${f.name}\0${f.size}\0${f.sha256}`);
  return `${remoteDir}/.incoming/stream-${tag.digest('hex').slice(0, 16)}`;
}

/**
 * One attempt: streams what the host lacks, then the host checks and renames. Throws
 * ConnectionLost (retry: the next attempt resumes), BundleCorrupt, StepFailed or Cancelled.
 */
export async function streamOnce(
  connection: HostConnection,
  push: StreamPush,
  progress: StreamProgress,
): Promise<void> {
  const host = connection.target.name;
  let out = '';
  let onInventory: (have: Map<string, number>) => void = () => undefined;
  let noInventory: (e: Error) => void = () => undefined;
  const inventory = new Promise<Map<string, number>>((resolve, reject) => {
    onInventory = resolve;
    noInventory = reject;
  });
  inventory.catch(() => undefined);
  let listed = false;
  const onStdout = (chunk: Uint8Array) => {
    out += Buffer.from(chunk).toString('utf8');
    if (listed) return;
    const m = /(?:^|\n)ustart-have\n([^]*?)ustart-send\n/.exec(out);
    if (!m) return;
    listed = true;
    out = out.slice(m.index + m[0].length);
    const have = new Map<string, number>();
    for (const line of m[1]!.split('\n')) {
      const f = /^(\d+) (.+)$/.exec(line);
      if (f) have.set(f[2]!, Number(f[1]));
    }
    onInventory(have);
  };
  let err = '';
  let partial = '';
  const onStderr = (chunk: Uint8Array) => {
    const text = Buffer.from(chunk).toString('utf8');
    if (!push.relay) {
      if (err.length < 8192) err += text;
      return;
    }
    // RELAY's own lines go to the caller; the receiver's words stay for the messages.
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (relayEvent(line)) progress.relayed?.(line);
      else if (err.length < 8192) err += `${line}\n`;
    }
  };
  let localFailure: Error | undefined;
  const stdin = tarStream(inventory, push, progress, (e) => (localFailure ??= e));
  const outcome = await connection.exec(
    receiverCommand(push, push.relay ? { address: push.relay.address, mode: 'stdin' } : undefined),
    {
      stdin,
      onStdout,
      onStderr,
      ...(push.sudo ? { sudo: true } : {}),
      ...(push.signal ? { signal: push.signal } : {}),
    },
  );
  noInventory(new Error('the receiver ended before it listed the staging folder'));
  const said = `${out}\n${err}`.trim().split('\n').slice(-15).join('\n');
  if (localFailure) {
    throw new UstartError(
      'StepFailed',
      `could not read the bundle here while sending it to ${host}: ${messageOf(localFailure)}; check the bundle folder, then push again`,
      { cause: localFailure, detail: { host } },
    );
  }
  switch (outcome.kind) {
    case 'exited':
      break;
    case 'cancelled':
      throw new UstartError('Cancelled', `push to ${host} cancelled`);
    case 'connection-lost':
      throw new UstartError(
        'ConnectionLost',
        `the connection to ${host} was lost while the bundle was sent${outcome.message ? `: ${outcome.message}` : ''}`,
        { detail: { host } },
      );
    default:
      throw new UstartError(
        'ConnectionLost',
        `the bundle's receiver on ${host} ended without an exit status (${outcome.kind}); push again to resume`,
        { detail: { host } },
      );
  }
  const where = `${host}:${push.remoteDir}`;
  switch (outcome.code) {
    case 0:
      return;
    case EXIT.mismatch:
      throw new UstartError(
        'BundleCorrupt',
        `the bundle sent to ${where} does not match its manifest (nothing was put in place, the staging folder was removed):\n${said}\nPush it again.`,
        { detail: { host } },
      );
    case EXIT.unpack:
      throw new UstartError(
        'StepFailed',
        `could not unpack the bundle in ${push.staging} on ${host}:\n${said}\nCheck the free space there, then push again.`,
        { detail: { host } },
      );
    case EXIT.fetch:
      // Not retried here: pushBundleToHosts pushes to this host from this machine instead.
      throw new UstartError(
        'StepFailed',
        `${host} could not fetch the bundle from ${push.fetchFromHost ?? push.fetchFrom} (${push.fetchFrom}); curl said:\n${said}`,
        { detail: { host, fetchFailed: true } },
      );
    case EXIT.locked:
      throw new UstartError(
        'StepFailed',
        `another push into ${where} is still running (waited 120 s for its lock); wait for it to end, then push again`,
        { detail: { host } },
      );
    default:
      throw new UstartError(
        'StepFailed',
        `could not put the bundle in place in ${where} (exit ${outcome.code}):\n${said}\nCheck that the folder is writable${push.sudo ? ' and that sudo works' : ''}, then push again.`,
        { detail: { host } },
      );
  }
}

/** True for a fetching host's failure to get the files from the serving host (curl's exit). */
export function isFetchFailure(e: unknown): boolean {
  return e instanceof UstartError && e.detail['fetchFailed'] === true;
}

/** Bytes read from a file at once while packing. */
const READ_CHUNK = 1024 * 1024;

/**
 * The tar the host unpacks: whole files it lacks, tails of files it holds cut short (under
 * CONTROL/tail), then the check list (CONTROL/check). Members as in the bundle's own tar:
 * one mtime, uid/gid 0, 0644 or 0755.
 */
async function* tarStream(
  inventory: Promise<Map<string, number>>,
  push: StreamPush,
  progress: StreamProgress,
  failed: (e: Error) => void,
): AsyncGenerator<Uint8Array> {
  // The relay sends every file whole and does not wait: the receiver under RELAY may end
  // before it lists anything while RELAY still passes the stream on.
  const have = push.relay ? new Map<string, number>() : await inventory;
  const pack = tar.pack();
  const out = new PassThrough({ highWaterMark: 4 * READ_CHUNK });
  const packed = pipeline(pack as unknown as Readable, out);
  packed.catch(() => undefined);
  let doneBytes = 0;
  const header = (name: string, size: number, executable: boolean) => ({
    name,
    size,
    mode: executable ? 0o755 : 0o644,
    mtime: push.mtime,
    type: 'file' as const,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
  });
  const writing = (async () => {
    // The modes the bundle's tar gives, set after the check: a file fetched, or kept from
    // an attempt that fetched it, has none of them yet.
    const exec = Buffer.from(
      push.files
        .filter((f) => f.executable)
        .map((f) => `${f.name}\n`)
        .join(''),
    );
    await new Promise<void>((resolve, reject) =>
      pack.entry(header(`${CONTROL}/exec`, exec.length, false), exec, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    if (push.fetchFrom !== undefined) {
      // curl's config: one url/output pair per file the host lacks or holds at another size.
      // Those are removed first and fetched whole: the server ignores Range
      // (docs/upstream-facts.md#python-http-server-no-range).
      const missing = push.files.filter((f) => have.get(f.name) !== f.size);
      const fetch = Buffer.from(
        missing
          .map(
            (f) =>
              `url = ${curlQuoted(`${push.fetchFrom}/${f.name.split('/').map(encodeURIComponent).join('/')}`)}\noutput = ${curlQuoted(f.name)}\n`,
          )
          .join(''),
      );
      const get = Buffer.from(missing.map((f) => `${f.name}\n`).join(''));
      await new Promise<void>((resolve, reject) =>
        pack.entry(header(`${CONTROL}/get`, get.length, false), get, (e) =>
          e ? reject(e) : resolve(),
        ),
      );
      await new Promise<void>((resolve, reject) =>
        pack.entry(header(`${CONTROL}/fetch`, fetch.length, false), fetch, (e) =>
          e ? reject(e) : resolve(),
        ),
      );
    }
    for (const f of push.fetchFrom === undefined ? push.files : []) {
      const kept = have.get(f.name) ?? 0;
      const start = kept > 0 && kept <= f.size ? kept : 0;
      doneBytes += start;
      progress.progressed(f.name, start, doneBytes);
      if (start === f.size) {
        progress.finished(f.name);
        continue;
      }
      const name = start > 0 ? `${CONTROL}/tail/${f.name}` : f.name;
      let entryDone: () => void = () => undefined;
      let entryFailed: (e: Error) => void = () => undefined;
      const finished = new Promise<void>((resolve, reject) => {
        entryDone = resolve;
        entryFailed = reject;
      });
      // Settled by the pipeline's own failure when the stream stops early.
      finished.catch(() => undefined);
      const sink = pack.entry(header(name, f.size - start, f.executable), (e) =>
        e ? entryFailed(e) : entryDone(),
      );
      let itemDone = start;
      await pipeline(
        createReadStream(f.local, { start, highWaterMark: READ_CHUNK }),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            itemDone += chunk.length;
            doneBytes += chunk.length;
            yield chunk;
            progress.progressed(f.name, itemDone, doneBytes);
          }
        },
        sink as unknown as Writable,
      );
      await finished;
      if (itemDone !== f.size) throw new Error(`${f.local} changed size while it was sent`);
      progress.finished(f.name);
    }
    const check = Buffer.from(push.files.map((f) => `${f.sha256}  ${f.name}\n`).join(''));
    await new Promise<void>((resolve, reject) =>
      pack.entry(header(`${CONTROL}/check`, check.length, false), check, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    pack.finalize();
    await packed;
  })();
  let stopping = false;
  writing.catch((e: unknown) => {
    // Stopped from outside (the channel closed): not a failure of this side.
    if (!stopping) failed(e instanceof Error ? e : new Error(String(e)));
    out.destroy(e as Error);
  });
  try {
    if (push.relay) yield Buffer.from(push.relay.head);
    for await (const chunk of out) yield chunk as Buffer;
  } finally {
    stopping = true;
    pack.destroy();
    out.destroy();
    await writing.catch(() => undefined);
  }
}

/**
 * A value in curl's config file: in double quotes, `\\` and `"` escaped
 * (docs/upstream-facts.md#curl-config-quoting). Entry paths hold no control character
 * (entry-paths.ts), so no newline can start another option.
 */
export function curlQuoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
