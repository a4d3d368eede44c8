/**
 * Checked uploads against a real sshd lab host, on each data path: the exec channel into
 * the Python receiver, into the POSIX sh receiver, and SFTP. Content, mode, owner, the
 * checksum catching a wrong temp file, resume after an abort or a dead receiver, and a
 * destination that is a directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import type { HostConnection } from '../../src/ssh/transport.js';
import {
  checkedUpload,
  tempPathFor,
  type UploadHost,
  type UploadPath,
} from '../../src/ssh/upload-checked.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { storeOf } from './ssh-helpers.js';
import { rawClient, uploadHostOf } from './upload-host.js';

const available = labAvailable();
const PATHS: UploadPath[] = ['python', 'sh', 'sftp'];
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe.skipIf(!available)('ssh transport: checked upload', () => {
  let lab: Lab;
  let transport: Ssh2Transport;
  let conn: HostConnection;
  let client: ssh2.Client;
  let host: UploadHost;
  let dir: string;

  beforeAll(async () => {
    lab = await createLab({ hosts: 1 });
    dir = await mkdtemp(join(tmpdir(), 'ustart-upload-test-'));
    transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
      credentials: storeOf({ sudo: lab.testUser.password }),
    });
    conn = await transport.connect(lab.target(0));
    client = await rawClient({
      host: lab.hosts[0]!.address,
      port: lab.hosts[0]!.port,
      username: 'root',
      privateKey: await readFile(lab.clientKeyPath),
    });
    host = uploadHostOf(client, lab.hosts[0]!.name);
    await lab.exec(0, 'mkdir -p /srv/up');
  });
  afterAll(async () => {
    client?.end();
    await transport?.dispose();
    await lab?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Mode, owner, sha256 of `path`, and the temp files left in its folder. */
  async function inspect(path: string) {
    const { stdout } = await lab.exec(
      0,
      `stat -c '%a %U:%G' ${path}; sha256sum ${path} | cut -c1-64; ls -a $(dirname ${path}) | grep '\\.part$' || true`,
    );
    const [mode, sum, ...parts] = stdout.trim().split('\n');
    return { mode, sum, parts };
  }

  async function fileOf(bytes: number): Promise<{ file: string; data: Buffer }> {
    const data = randomBytes(bytes);
    const file = join(dir, `src-${randomBytes(4).toString('hex')}.bin`);
    await writeFile(file, data);
    return { file, data };
  }

  it.each(PATHS)(
    'uploads a file and bytes over the %s path with content and mode',
    async (path) => {
      // 20 MiB: a file this large is hashed on the worker thread.
      const { file, data } = await fileOf(20 * 1024 * 1024 + 5);
      await checkedUpload(host, file, `/srv/up/${path}-file.bin`, { mode: 0o640, path });
      expect(await inspect(`/srv/up/${path}-file.bin`)).toEqual({
        mode: '640 root:root',
        sum: sha256(data),
        parts: [],
      });
      const small = randomBytes(70_001);
      await checkedUpload(host, small, `/srv/up/${path}-bytes.bin`, { path });
      expect(await inspect(`/srv/up/${path}-bytes.bin`)).toMatchObject({
        mode: '600 root:root',
        sum: sha256(small),
      });
    },
  );

  it('runs parallel uploads of one path in turn: both succeed, the last one wins', async () => {
    const a = randomBytes(3 * 1024 * 1024);
    const b = randomBytes(3 * 1024 * 1024);
    await Promise.all([
      conn.upload(a, '/srv/up/shared.sh', { mode: 0o644 }),
      conn.upload(b, '/srv/up/shared.sh', { mode: 0o644 }),
    ]);
    expect(await inspect('/srv/up/shared.sh')).toEqual({
      mode: '644 root:root',
      sum: sha256(b),
      parts: [],
    });
  });

  it('uploads an empty file', async () => {
    await conn.upload(new Uint8Array(0), '/srv/up/empty.bin', { mode: 0o644 });
    expect(await inspect('/srv/up/empty.bin')).toEqual({
      mode: '644 root:root',
      sum: sha256(new Uint8Array(0)),
      parts: [],
    });
  });

  it.each(PATHS)(
    'refuses a temp file that held other bytes (%s): mismatch, temp removed, nothing in place',
    async (path) => {
      const data = randomBytes(3 * 1024 * 1024);
      const dest = `/srv/up/mismatch-${path}.bin`;
      const temp = tempPathFor(dest, data.length, data);
      // A temp file of the right name but the wrong bytes: the resume keeps it.
      await lab.exec(0, `head -c 1000000 /dev/urandom > ${temp}`);
      await expect(checkedUpload(host, data, dest, { path })).rejects.toMatchObject({
        code: 'UploadFailed',
        message: expect.stringContaining('checksum mismatch') as unknown,
      });
      expect(await lab.exec(0, `test -e ${dest} || test -e ${temp} || echo none`)).toMatchObject({
        stdout: 'none\n',
      });
      await checkedUpload(host, data, dest, { path });
      expect((await inspect(dest)).sum).toBe(sha256(data));
    },
  );

  it.each(PATHS)(
    'leaves nothing at the destination on abort and resumes from the temp file (%s)',
    async (path) => {
      const { file, data } = await fileOf(24 * 1024 * 1024);
      const dest = `/srv/up/abort-${path}.bin`;
      const abort = new AbortController();
      await expect(
        checkedUpload(host, file, dest, {
          path,
          signal: abort.signal,
          onProgress: (sent, total) => {
            if (sent > total / 3) abort.abort();
          },
        }),
      ).rejects.toMatchObject({ code: 'Cancelled' });
      expect(await conn.exec(`test -e ${dest}`)).toEqual({ kind: 'exited', code: 1 });
      const first: number[] = [];
      await checkedUpload(host, file, dest, {
        path,
        onProgress: (sent) => first.length === 0 && first.push(sent),
      });
      // The second upload started where the temp file ended, not at 0.
      expect(first[0]).toBeGreaterThan(0);
      expect(await inspect(dest)).toMatchObject({ sum: sha256(data), parts: [] });
    },
  );

  it.each(['python', 'sh'] as const)(
    'fails cleanly when the %s receiver dies mid-way, then resumes',
    async (path) => {
      const { file, data } = await fileOf(24 * 1024 * 1024);
      const dest = `/srv/up/killed-${path}.bin`;
      let killed: Promise<unknown> | undefined;
      await expect(
        checkedUpload(host, file, dest, {
          path,
          onProgress: (sent, total) => {
            // Both receivers' command lines name this upload's temp file (the sh one as an
            // argument after `ustart-upload`): only this receiver is killed, not those of
            // other tests (the lab shares one PID namespace).
            if (sent > total / 3)
              killed ??= lab.exec(0, `pkill -KILL -f 'killed-${path}[.]bin[.]ustart'`);
          },
        }),
      ).rejects.toMatchObject({
        code: 'UploadFailed',
        message: expect.stringContaining('upload again to resume') as unknown,
      });
      await killed;
      expect(await conn.exec(`test -e ${dest}`)).toEqual({ kind: 'exited', code: 1 });
      await checkedUpload(host, file, dest, { path });
      expect((await inspect(dest)).sum).toBe(sha256(data));
    },
  );

  it('uses the sh receiver when the host has no python3', async () => {
    // Without sftp-server too, only the sh receiver can have written the file.
    const hidden = ['/usr/bin/python3', '/usr/lib/openssh/sftp-server'];
    await lab.exec(0, hidden.map((f) => `mv ${f} ${f}.hidden`).join(' && '));
    try {
      const { file, data } = await fileOf(5 * 1024 * 1024 + 1);
      await conn.upload(file, '/srv/up/no-python.bin', { mode: 0o600 });
      expect(await inspect('/srv/up/no-python.bin')).toEqual({
        mode: '600 root:root',
        sum: sha256(data),
        parts: [],
      });
    } finally {
      await lab.exec(0, hidden.map((f) => `mv ${f}.hidden ${f}`).join('; '));
    }
  });

  it('sets the owner through sudo, as a user who cannot chown', async () => {
    const user = await transport.connect(lab.target(0, lab.testUser.name));
    try {
      const data = randomBytes(100_000);
      await user.upload(data, '/tmp/owned.bin', { owner: 'root:root', mode: 0o644 });
      expect(await inspect('/tmp/owned.bin')).toEqual({
        mode: '644 root:root',
        sum: sha256(data),
        parts: [],
      });
    } finally {
      await user.close();
    }
  });

  it('refuses to replace a directory at the destination and leaves it as it was', async () => {
    await lab.exec(0, 'mkdir -p /srv/up/a-dir && touch /srv/up/a-dir/keep');
    await expect(conn.upload(randomBytes(1000), '/srv/up/a-dir')).rejects.toMatchObject({
      code: 'UploadFailed',
    });
    const { stdout } = await lab.exec(0, 'ls -A /srv/up/a-dir');
    expect(stdout).toBe('keep\n');
  });
});
