/**
 * The fast data path of an upload: the bytes stream into the stdin of a small receiver on
 * the host, over a plain exec channel. The receiver writes the temp file and hashes the
 * same bytes as they pass, so the remote sha256 costs no second pass over the file, and an
 * exec channel skips SFTP's per-request framing, copies and replies (bench/sftp.ts,
 * docs/ssh.md "Upload" for the numbers).
 *
 * Receiver protocol (stdout): first `ustart-offset N TOTAL` (bytes of an earlier temp file
 * it kept, already hashed: the resume point; TOTAL echoes its argument, so a host whose
 * shell did not run the script as POSIX sh is told apart and gets SFTP instead), then, after stdin's end, `ustart-sha256 HEX SIZE`
 * for the whole temp file. Python 3 (with OpenSSL's SHA-256, several times faster than
 * coreutils' sha256sum) does both in one process; without it, `cat` writes and a second
 * pass hashes (`openssl dgst`, else `sha256sum`).
 */
import type { Client, ClientChannel } from 'ssh2';
import { shQuote } from './remote-exec.js';
import type { UploadSource } from './upload-source.js';

/** Runs with argv `PATH TOTAL`. Double quotes only: it travels inside single quotes. */
const PYTHON_RECEIVER = `
import hashlib, os, sys
path, total = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
have = os.fstat(fd).st_size
keep = have if have <= total else 0
h = hashlib.sha256()
buf = bytearray(1 << 20)
view = memoryview(buf)
done = 0
while done < keep:
    n = os.readv(fd, [view[: min(len(buf), keep - done)]])
    if n == 0:
        break
    h.update(view[:n])
    done += n
os.ftruncate(fd, done)
os.lseek(fd, done, os.SEEK_SET)
sys.stdout.write("ustart-offset %d %d\\n" % (done, total))
sys.stdout.flush()
try:
    import fcntl
    fcntl.fcntl(0, 1031, 1 << 20)  # F_SETPIPE_SZ: fewer wake-ups per MiB from sshd
except Exception:
    pass
size = done
while True:
    n = os.readv(0, [buf])
    if n == 0:
        break
    chunk = view[:n]
    h.update(chunk)
    while chunk:
        chunk = chunk[os.write(fd, chunk):]
    size += n
os.close(fd)
sys.stdout.write("ustart-sha256 %s %d\\n" % (h.hexdigest(), size))
`;

/** The same protocol in POSIX sh for hosts without python3: `cat`, then a second pass. */
const SH_RECEIVER = [
  't=$1 n=$2 s=0',
  'umask 077',
  '[ -f "$t" ] && s=$(($(wc -c < "$t")))',
  '[ "$s" -le "$n" ] || s=0',
  `printf 'ustart-offset %s %s\\n' "$s" "$n"`,
  'if [ "$s" -gt 0 ]; then cat >> "$t"; else cat > "$t"; fi || exit 1',
  'if command -v openssl >/dev/null 2>&1; then h=$(openssl dgst -sha256 -r < "$t"); else h=$(sha256sum < "$t"); fi || exit 1',
  `printf 'ustart-sha256 %s %s\\n' "\${h%% *}" $(($(wc -c < "$t")))`,
].join('\n');

/** Which receiver to start: the best one the host has, or one forced (tests, benchmarks). */
export type Receiver = 'auto' | 'python' | 'sh';

/** The exec line sshd runs (through the user's login shell, hence the explicit /bin/sh). */
export function receiverCommand(temp: string, total: number, receiver: Receiver = 'auto'): string {
  const python = `umask 077; exec python3 -c ${shQuote(PYTHON_RECEIVER)} "$1" "$2"`;
  const script =
    receiver === 'python'
      ? python
      : receiver === 'sh'
        ? SH_RECEIVER
        : `if command -v python3 >/dev/null 2>&1; then ${python}; fi\n${SH_RECEIVER}`;
  return `/bin/sh -c ${shQuote(script)} ustart-upload ${shQuote(temp)} ${total}`;
}

/** What the exec path achieved. */
export type ExecResult =
  /** The host ran no receiver (no POSIX shell, a simulated host): use SFTP instead. */
  | { kind: 'unsupported'; why: string }
  | { kind: 'received'; remoteSha256: string; remoteSize: number; offset: number }
  | { kind: 'failed'; why: string };

export interface StreamOptions {
  signal?: AbortSignal;
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  receiver?: Receiver;
}

/** Thrown out of the stream loop when the caller aborts. */
export class Aborted extends Error {}

class ChannelClosed extends Error {}

/**
 * Streams `source` (from the offset the receiver reports) into a receiver writing `temp`.
 * Rejects with `Aborted` on abort; the temp file then keeps what arrived, for a resume.
 */
export async function streamToReceiver(
  client: Client,
  source: UploadSource,
  temp: string,
  options: StreamOptions,
): Promise<ExecResult> {
  const { signal } = options;
  if (signal?.aborted) throw new Aborted();
  let stream: ClientChannel;
  try {
    stream = await new Promise<ClientChannel>((resolve, reject) =>
      client.exec(receiverCommand(temp, source.total, options.receiver), (err, s) =>
        err ? reject(err) : resolve(s),
      ),
    );
  } catch (e) {
    return { kind: 'unsupported', why: (e as Error).message };
  }

  let out = '';
  let err = '';
  let exitCode: number | undefined;
  let onOffset: ((offset: number | undefined) => void) | undefined;
  const offsetSeen = new Promise<number | undefined>((r) => (onOffset = r));
  stream.on('data', (chunk: Buffer) => {
    out += chunk.toString('latin1');
    const m = /^ustart-offset (\d+) (\d+)$/m.exec(out);
    if (m) onOffset?.(Number(m[2]) === source.total ? Number(m[1]) : undefined);
  });
  stream.stderr.on('data', (chunk: Buffer) => {
    if (err.length < 4096) err += chunk.toString('utf8');
  });
  stream.on('exit', (code: number | null) => (exitCode = code ?? undefined));
  stream.on('error', (e: Error) => {
    if (err.length < 4096) err += e.message;
  });
  const closed = new Promise<void>((resolve) =>
    stream.once('close', () => {
      onOffset?.(undefined);
      resolve();
    }),
  );
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Aborted());
  });
  aborted.catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  const closedEarly = closed.then(() => Promise.reject(new ChannelClosed()));
  closedEarly.catch(() => undefined);
  /** Waits for `p` unless the channel closes or the caller aborts first. */
  const until = <T>(p: Promise<T>): Promise<T> => {
    // Left behind when the race is lost: its later failure is no one's to report.
    p.catch(() => undefined);
    return Promise.race([p, closedEarly, aborted]);
  };
  const tail = () => (err.trim() ? `: ${err.trim()}` : '');

  try {
    const offset = await until(offsetSeen).catch((e: unknown) => {
      if (e instanceof Aborted) throw e;
      return undefined;
    });
    if (offset === undefined) {
      stream.close();
      await closed;
      return { kind: 'unsupported', why: `the receiver did not start (exit ${exitCode})${tail()}` };
    }
    if (offset > source.total) {
      stream.close();
      return {
        kind: 'failed',
        why: `the host kept ${offset} bytes of a ${source.total}-byte file`,
      };
    }
    await source.skip(offset);
    options.onProgress?.(offset, source.total);
    let sent = offset;
    for (;;) {
      const block = await until(source.next());
      if (!block) break;
      const ok = stream.write(block, (e?: Error | null) => {
        source.release(block);
        if (e) return;
        sent += block.length;
        options.onProgress?.(sent, source.total);
      });
      if (!ok) await until(new Promise((r) => stream.once('drain', r)));
    }
    stream.end();
    await Promise.race([closed, aborted]);
  } catch (e) {
    stream.close();
    if (!(e instanceof ChannelClosed)) throw e;
    return { kind: 'failed', why: `the channel closed mid-way (exit ${exitCode})${tail()}` };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const done = /^ustart-sha256 ([0-9a-f]{64}) (\d+)$/m.exec(out);
  if (exitCode !== 0 || !done) {
    return { kind: 'failed', why: `the receiver ended with exit ${exitCode}${tail()}` };
  }
  return {
    kind: 'received',
    remoteSha256: done[1]!,
    remoteSize: Number(done[2]),
    offset: Number(/^ustart-offset (\d+) /m.exec(out)![1]),
  };
}

/**
 * ssh2 hands each SSH packet to the socket as three or four separate writes (length, body,
 * MAC), each its own syscall when the socket is idle. Corking the socket for the rest of
 * the tick turns a burst of packets into one writev (bench/sftp.ts: about a fifth less CPU
 * on the laptop side). Applied once per connection; no write waits longer than one tick.
 */
export function batchSocketWrites(client: Client): void {
  if (batched.has(client)) return;
  batched.add(client);
  const sock = (client as unknown as { _sock?: NodeJS.WritableStream & Partial<Corkable> })._sock;
  if (!sock || typeof sock.cork !== 'function' || typeof sock.uncork !== 'function') return;
  const write = sock.write.bind(sock) as (...args: unknown[]) => boolean;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    sock.uncork!();
  };
  sock.write = ((...args: unknown[]) => {
    if (!scheduled) {
      scheduled = true;
      sock.cork!();
      process.nextTick(flush);
    }
    return write(...args);
  }) as typeof sock.write;
}

interface Corkable {
  cork(): void;
  uncork(): void;
}

const batched = new WeakSet<Client>();
