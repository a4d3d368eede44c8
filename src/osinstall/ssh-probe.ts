/**
 * Read-only SSH probes of a server, with no credentials: does something answer with an SSH
 * identification line (RFC 4253 §4.2: `SSH-2.0-…`, possibly after other lines), and which host key of a given
 * type does it present. Neither logs in.
 */
import { connect } from 'node:net';
import ssh2 from 'ssh2';

/**
 * What an SSH probe of `address:port` found: `answers` (an `SSH-` identification line),
 * `refused` (the connection was refused: nothing listens there) or `unknown` (a timeout, a
 * reset, a close before the identification line, or something that is not SSH). Only
 * `refused` means "no SSH server here"; a filtered, slow or rate-limited SSH (MaxStartups)
 * is `unknown`, never "no OS".
 */
export type SshProbe = 'answers' | 'refused' | 'unknown';

/**
 * RFC 4253 §4.2: the server may send other lines before its `SSH-` identification line; a
 * client reads on until it comes. uStart reads up to this many lines, then calls it unknown.
 */
const MAX_LINES_BEFORE_ID = 255;
/** RFC 4253 §4.2: the identification line is at most 255 characters with CR LF. */
const MAX_LINE = 255;

/** Probes `address:port` for an SSH identification line, without logging in. */
export function sshProbe(address: string, port: number, timeoutMs = 5000): Promise<SshProbe> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port });
    let pending = '';
    let lines = 0;
    let settled = false;
    const finish = (v: SshProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish('unknown'), timeoutMs);
    sock.on('data', (b) => {
      pending += b.toString('latin1');
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith('SSH-')) return finish('answers');
        if (++lines > MAX_LINES_BEFORE_ID) return finish('unknown');
      }
      if (pending.length > MAX_LINE && !pending.startsWith('SSH-')) finish('unknown');
      else if (pending.length > MAX_LINE) finish('answers');
    });
    sock.on('error', (e: NodeJS.ErrnoException) =>
      finish(e.code === 'ECONNREFUSED' ? 'refused' : 'unknown'),
    );
    sock.on('close', () => finish('unknown'));
  });
}

/**
 * The host key blob (base64) `address:port` presents for the key type `type`
 * (`ssh-ed25519`…), read in the key exchange; the connection is closed before any login.
 */
export function sshHostKey(
  address: string,
  port: number,
  type: string,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    let key: string | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      client.end();
      resolve(key);
    };
    client.on('error', finish);
    client.on('close', finish);
    client.connect({
      host: address,
      port,
      username: 'ustart-host-key-probe',
      readyTimeout: timeoutMs,
      algorithms: { serverHostKey: [type as 'ssh-ed25519'] },
      hostVerifier: (blob: Buffer) => {
        key = blob.toString('base64');
        setImmediate(finish);
        return false;
      },
    });
  });
}
