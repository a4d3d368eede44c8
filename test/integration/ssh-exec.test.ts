/** Ssh2Transport exec against real sshd lab hosts: outcomes, remote kill, sudo, upload, a cut link. */
import { randomBytes, createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import type { HostConnection } from '../../src/ssh/transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { collector, storeOf } from './ssh-helpers.js';

const available = labAvailable();

describe.skipIf(!available)('ssh transport: exec and upload', () => {
  let lab: Lab;
  let transport: Ssh2Transport;
  let conn: HostConnection;

  beforeAll(async () => {
    lab = await createLab({ hosts: 2 });
    transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
      credentials: storeOf({ password: lab.testUser.password, sudo: lab.testUser.password }),
    });
    conn = await transport.connect(lab.target(0));
  });
  afterAll(async () => {
    await transport?.dispose();
    await lab?.dispose();
  });

  /** True while a process whose command line contains `needle` runs on host 0 (seen from a second connection). */
  async function running(needle: string): Promise<boolean> {
    const other = await transport.connect(lab.target(0));
    try {
      const out = collector();
      // `[x]yz` matches "xyz" but not this pgrep's own command line.
      await other.exec(`pgrep -f -- '[${needle[0]}]${needle.slice(1)}' || true`, {
        onStdout: out.push,
      });
      return out.text().trim() !== '';
    } finally {
      await other.close();
    }
  }

  it('reports exit codes and signals, and streams stdout and stderr apart', async () => {
    const out = collector();
    const err = collector();
    expect(
      await conn.exec('echo out; echo err >&2; exit 7', { onStdout: out.push, onStderr: err.push }),
    ).toEqual({
      kind: 'exited',
      code: 7,
    });
    expect([out.text(), err.text()]).toEqual(['out\n', 'err\n']);
    expect(await conn.exec('kill -TERM $$')).toEqual({ kind: 'signalled', signal: 'SIGTERM' });
    const input = collector();
    await conn.exec('cat', { stdin: 'fed on stdin', onStdout: input.push });
    expect(input.text()).toBe('fed on stdin');
  });

  it('kills the remote process on a timeout and confirms it gone', async () => {
    const tag = `ustart-timeout-${randomBytes(4).toString('hex')}`;
    const outcome = await conn.exec(`sh -c 'sleep 600; echo ${tag}' & wait`, { timeoutMs: 300 });
    expect(outcome).toEqual({ kind: 'timeout', remoteKilled: true });
    expect(await running(tag)).toBe(false);
  });

  it('kills the remote process on cancel', async () => {
    const tag = `ustart-cancel-${randomBytes(4).toString('hex')}`;
    const abort = new AbortController();
    const outcome = await conn.exec(`echo started; exec sh -c 'sleep 600; : ${tag}'`, {
      signal: abort.signal,
      onStdout: () => abort.abort(),
    });
    expect(outcome).toEqual({ kind: 'cancelled', remoteKilled: true });
    expect(await running(tag)).toBe(false);
  });

  it('runs sudo with the password on stdin, never in argv or output', async () => {
    const user = await transport.connect(lab.target(0, lab.testUser.name));
    try {
      const out = collector();
      const err = collector();
      const gate = `/tmp/ustart-sudo-gate-${randomBytes(4).toString('hex')}`;
      let seen: Promise<string> | undefined;
      // The command waits for the gate file, so the process table is read while sudo runs.
      const outcome = await user.exec(
        `id -u; while [ ! -e ${gate} ]; do sleep 0.05; done; read line; echo $line`,
        {
          sudo: true,
          stdin: 'after-password\n',
          onStdout: (c) => {
            out.push(c);
            seen ??= lab
              .exec(
                0,
                `cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; touch ${gate}`,
              )
              .then((r) => r.stdout);
          },
          onStderr: err.push,
        },
      );
      const table = await seen!;
      expect(table).toContain('sudo');
      expect(table).not.toContain(lab.testUser.password);
      expect(outcome).toEqual({ kind: 'exited', code: 0 });
      expect(out.text()).toBe('0\nafter-password\n');
      expect(err.text()).toBe('');
    } finally {
      await user.close();
    }
  });

  it('uploads with the right content and mode, checked by sha256', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await conn.upload(data, '/srv/payload.bin', { mode: 0o640 });
    const out = collector();
    await conn.exec('stat -c %a /srv/payload.bin; sha256sum /srv/payload.bin; ls -a /srv', {
      onStdout: out.push,
    });
    const [mode, sum, ...files] = out.text().trim().split('\n');
    expect(mode).toBe('640');
    expect(sum!.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('leaves no file at the destination when an upload is aborted mid-way', async () => {
    const data = randomBytes(32 * 1024 * 1024);
    const abort = new AbortController();
    const upload = conn.upload(data, '/srv/aborted.bin', {
      signal: abort.signal,
      onProgress: (sent, total) => {
        if (sent > total / 4) abort.abort();
      },
    });
    await expect(upload).rejects.toMatchObject({ code: 'Cancelled' });
    const check = await conn.exec('test -e /srv/aborted.bin');
    expect(check).toEqual({ kind: 'exited', code: 1 });
    // The temp file stays for a resume: uploading again completes from it.
    await conn.upload(data, '/srv/aborted.bin');
    const out = collector();
    await conn.exec('sha256sum /srv/aborted.bin', { onStdout: out.push });
    expect(out.text().split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it(
    'ends as connection-lost when the link is cut mid-exec (keepalive)',
    { timeout: 90_000 },
    async () => {
      const victim = await transport.connect(lab.target(1));
      const outcome = victim.exec('echo running; sleep 600', {
        onStdout: () => void lab.cutLink(1),
      });
      try {
        expect(await outcome).toMatchObject({ kind: 'connection-lost' });
        expect(await victim.closed).toMatchObject({ reason: 'lost' });
      } finally {
        await lab.restoreLink(1);
      }
    },
  );
});
