/** An UploadHost over a bare ssh2 client, so tests and benchmarks can force one upload path. */
import ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import type { UploadHost } from '../../src/ssh/upload-checked.js';

/** Connects with `privateKey` and no host-key check: for lab hosts whose keys the caller pinned elsewhere. */
export async function rawClient(options: {
  host: string;
  port: number;
  username: string;
  privateKey: Buffer;
  cipher?: string[];
}): Promise<ssh2.Client> {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({
      host: options.host,
      port: options.port,
      username: options.username,
      privateKey: options.privateKey,
      hostVerifier: () => true,
      ...(options.cipher ? { algorithms: { cipher: options.cipher as never } } : {}),
    });
  });
  return client;
}

/** Runs commands without sudo: enough for uploads without an owner. */
export function uploadHostOf(client: ssh2.Client, name: string): UploadHost {
  let sftp: Promise<SFTPWrapper> | undefined;
  return {
    name,
    client,
    sftp: () =>
      (sftp ??= new Promise((resolve, reject) =>
        client.sftp((err, s) => (err ? reject(err) : resolve(s))),
      )),
    run: (command) =>
      new Promise((resolve, reject) =>
        client.exec(command, (err, stream) => {
          if (err) return reject(err);
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let code: number | null = null;
          stream.on('data', (c: Buffer) => out.push(c));
          stream.stderr.on('data', (c: Buffer) => errOut.push(c));
          stream.on('exit', (c: number | null) => (code = c));
          stream.once('close', () =>
            code === 0
              ? resolve(Buffer.concat(out).toString('utf8'))
              : reject(new Error(`${command} exited ${code}: ${Buffer.concat(errOut).toString()}`)),
          );
        }),
      ),
  };
}
