/**
 * Upload that never leaves a partial file at the destination (docs/ssh.md, "Upload"): the
 * bytes go to a temp file beside it (same folder, so the final rename stays on one file
 * system), the host's sha256 of that file must equal the local one, then an atomic
 * rename(2) puts it in place. The temp name derives from the destination, the source and
 * its size, so an interrupted upload of the same file resumes where it stopped.
 *
 * The source is read once, hashed as it is read. The bytes travel over an exec channel
 * into a receiver that hashes while it writes (upload-exec.ts); a host that runs no
 * receiver gets SFTP and a second hashing pass (sftp-upload.ts).
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Client, SFTPWrapper } from 'ssh2';
import { UstartError, messageOf } from '../errors.js';
import { shQuote } from './remote-exec.js';
import { remoteHashCommand, sftpCall, sftpToTemp } from './sftp-upload.js';
import type { UploadOptions } from './transport.js';
import { Aborted, batchSocketWrites, streamToReceiver, type Receiver } from './upload-exec.js';
import { UploadSource } from './upload-source.js';

export interface UploadHost {
  name: string;
  /** The connection: the upload opens its own exec channel on it. */
  client: Client;
  sftp(): Promise<SFTPWrapper>;
  /** Runs a command, returning stdout; rejects when it exits non-zero. */
  run(command: string, sudo?: boolean): Promise<string>;
}

/** How the bytes travel; `auto` except in tests and benchmarks that measure one path. */
export type UploadPath = Receiver | 'sftp';

/** The temp file an upload of `source` (`total` bytes) to `remotePath` writes and resumes. */
export function tempPathFor(
  remotePath: string,
  total: number,
  source: string | Uint8Array,
): string {
  const tag = createHash('sha256')
    .update(`${remotePath}\0${total}\0${typeof source === 'string' ? source : 'memory'}`)
    .digest('hex')
    .slice(0, 12);
  return posix.join(posix.dirname(remotePath), `.${posix.basename(remotePath)}.ustart-${tag}.part`);
}

export async function checkedUpload(
  host: UploadHost,
  source: string | Uint8Array,
  remotePath: string,
  options: UploadOptions & { path?: UploadPath } = {},
): Promise<void> {
  const label = typeof source === 'string' ? posix.basename(source) : 'data';
  const fail = (what: string, cause?: unknown): UstartError =>
    new UstartError(
      'UploadFailed',
      `upload of ${label} to ${host.name}:${remotePath} failed: ${what}`,
      { cause, detail: { host: host.name, remotePath } },
    );
  const src = await UploadSource.open(source).catch((e: unknown) => {
    throw fail(`cannot read the source (${messageOf(e)}); check the path`, e);
  });
  const temp = tempPathFor(remotePath, src.total, source);
  try {
    const remote = await transfer(host, src, temp, options, fail);
    const local = await src.digest().catch((e: unknown) => {
      throw fail(`hashing the source failed: ${messageOf(e)}`, e);
    });
    if (remote.sha256 !== local || remote.size !== src.total) {
      await remote.discard().catch(() => undefined);
      throw fail(
        `checksum mismatch (local ${local}, ${src.total} bytes; ${host.name} ${remote.sha256}, ${remote.size} bytes); the temp file was removed, upload again`,
      );
    }
    await finalize(host, temp, remotePath, options).catch((e: unknown) => {
      throw fail(
        `could not put ${temp} in place (${messageOf(e)}); check that ${posix.dirname(remotePath)} is writable${options.owner ? ' and that sudo works' : ''}`,
        e,
      );
    });
  } catch (e) {
    if (e instanceof Aborted) throw new UstartError('Cancelled', 'upload cancelled');
    throw e;
  } finally {
    await src.close();
  }
}

interface RemoteCopy {
  sha256: string;
  size: number;
  /** Removes the temp file (after a mismatch: resuming from it would fail again). */
  discard(): Promise<unknown>;
}

/** Moves the bytes into `temp` by the fastest path the host runs; the host's hash of it. */
async function transfer(
  host: UploadHost,
  src: UploadSource,
  temp: string,
  options: UploadOptions & { path?: UploadPath },
  fail: (what: string, cause?: unknown) => UstartError,
): Promise<RemoteCopy> {
  const path = options.path ?? 'auto';
  if (path !== 'sftp') {
    batchSocketWrites(host.client);
    const r = await streamToReceiver(host.client, src, temp, { ...options, receiver: path });
    switch (r.kind) {
      case 'received':
        return {
          sha256: r.remoteSha256,
          size: r.remoteSize,
          discard: () => host.run(`rm -f -- ${shQuote(temp)}`),
        };
      case 'failed':
        throw fail(`${r.why}; the temp file ${temp} stays, upload again to resume`);
      case 'unsupported':
        if (path !== 'auto') throw fail(`no receiver ran on the host: ${r.why}`);
        break;
      default:
        throw new Error(`unhandled receiver result ${JSON.stringify(r satisfies never)}`);
    }
  }
  const sftp = await host.sftp();
  await sftpToTemp(sftp, src, temp, options).catch((e: unknown) => {
    if (e instanceof Aborted) throw e;
    throw fail(
      `writing ${temp} over SFTP failed (${messageOf(e)}); check that ${posix.dirname(temp)} exists and is writable`,
      e,
    );
  });
  const sum = await host.run(remoteHashCommand(temp)).catch((e: unknown) => {
    throw fail(`hashing ${temp} on the host failed: ${messageOf(e)}`, e);
  });
  return {
    sha256: /\b[0-9a-f]{64}\b/.exec(sum)?.[0] ?? `(unreadable: ${sum.trim().slice(0, 80)})`,
    size: src.total,
    discard: () => sftpCall<void>((cb) => sftp.unlink(temp, cb)),
  };
}

/**
 * Mode, owner, then rename(2) over the destination: `mv -T` never moves the file into a
 * directory of that name. With an owner it all runs through sudo (chown clears set-id
 * bits, so the mode comes after it).
 */
function finalize(
  host: UploadHost,
  temp: string,
  remotePath: string,
  options: UploadOptions,
): Promise<string> {
  const t = shQuote(temp);
  const steps = [
    ...(options.owner !== undefined ? [`chown -- ${shQuote(options.owner)} ${t}`] : []),
    ...(options.mode !== undefined ? [`chmod -- ${options.mode.toString(8)} ${t}`] : []),
    `mv -f -T -- ${t} ${shQuote(remotePath)}`,
  ];
  return host.run(steps.join(' && '), options.owner !== undefined);
}
