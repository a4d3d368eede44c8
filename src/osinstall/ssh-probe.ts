/**
 * Read-only SSH probes of a server, with no credentials: does something answer with an SSH
 * banner (RFC 4253 §4.2: the server sends `SSH-2.0-…` first), and which host key of a given
 * type does it present. Neither logs in.
 */
import { connect } from 'node:net';
import ssh2 from 'ssh2';

/** True when `address:port` accepts a TCP connection and sends an SSH identification line. */
export function sshAnswers(address: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port });
    let data = '';
    const finish = (v: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('data', (b) => {
      data += b.toString('latin1');
      if (data.includes('\n'))
        finish(/(^|\n)SSH-2\.0-/.test(data) || /(^|\n)SSH-1\.99-/.test(data));
    });
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
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
