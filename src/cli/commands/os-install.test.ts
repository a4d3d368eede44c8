import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePlanText } from '../../plan/index.js';
import { assetPath } from '../../util/assets.js';
import { makeCertificate } from '../../../test/doubles/redfish-double.js';
import { runCli as run } from '../../../test/support/run-cli.js';
import { PromptQueue } from './os-install.js';
import { PassThrough } from 'node:stream';

let dir: string | undefined;
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function listen(onConn: (sock: Socket) => void): Promise<number> {
  const s = createServer(onConn);
  servers.push(s);
  return new Promise((r) =>
    s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)),
  );
}

describe('ustart os-install', () => {
  it('--dry-run: the server answering on SSH is skipped, the others would be installed through their BMC', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-cli-'));
    // A real TCP server that speaks an SSH identification line, and a port nothing listens on.
    const sshPort = await listen((sock) => sock.end('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'));
    const closed = await listen(() => undefined);
    await new Promise((r) => servers.pop()!.close(r));
    const { plan } = parsePlanText(
      await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8'),
      'x',
    );
    plan!.site.osRelease = 'debian-12';
    plan!.servers.forEach(
      (s, i) => (s.ssh = { address: '127.0.0.1', port: i === 0 ? sshPort : closed }),
    );
    const file = join(dir, 'site.yaml');
    await writeFile(file, stringify(plan));
    const pub = join(dir, 'id.pub');
    await writeFile(
      pub,
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ c\n',
    );
    const r = await run(
      'os-install',
      file,
      '--dry-run',
      '--mirror',
      'http://deb.debian.org/debian',
      '--authorized-key',
      pub,
      '--advertise',
      '10.10.0.250',
      '--port',
      '8123',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const first = plan!.servers[0]!;
    const second = plan!.servers[1]!;
    expect(r.out).toContain('no BMC was contacted');
    expect(r.out).toContain(`${first.hostname}: skip — SSH answers at 127.0.0.1:${sshPort}`);
    expect(r.out).toContain(`--confirm-reinstall ${first.hostname}`);
    expect(r.out).toContain(`${second.hostname}: install Debian 12`);
    expect(r.out).toContain(
      `BMC ${second.bmc!.address} (redfish): insert virtual CD http://10.10.0.250:8123/<run token>/iso/${second.hostname}.iso`,
    );

    const confirmed = await run(
      'os-install',
      file,
      '--dry-run',
      '--mirror',
      'http://deb.debian.org/debian',
      '--authorized-key',
      pub,
      '--advertise',
      '10.10.0.250',
      '--confirm-reinstall',
      first.hostname,
    );
    expect(confirmed.out).toContain(`${first.hostname}: reinstall Debian 12`);
    const typo = await run(
      'os-install',
      file,
      '--dry-run',
      '--mirror',
      'http://deb.debian.org/debian',
      '--authorized-key',
      pub,
      '--advertise',
      '10.10.0.250',
      '--confirm-reinstall',
      `${first.hostname}x`,
    );
    expect(typo.code).toBe(2);
    expect(typo.err).toContain(`${first.hostname}x is no server of the plan`);
  });

  it("without --dry-run, opens the plan's Redfish BMC with the real client: an unknown certificate fails the server before a request is sent", async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-cli-'));
    const { key, cert, fingerprint } = await makeCertificate(dir);
    const requests: string[] = [];
    const bmc = createHttpsServer(
      { key: await readFile(key), cert: await readFile(cert) },
      (req, res) => {
        requests.push(`${req.method} ${req.url}`);
        res.end('{}');
      },
    );
    const bmcPort = await new Promise<number>((r) =>
      bmc.listen(0, '127.0.0.3', () => r((bmc.address() as { port: number }).port)),
    );
    const closed = await listen(() => undefined);
    await new Promise((r) => servers.pop()!.close(r));
    const { plan } = parsePlanText(
      await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8'),
      'x',
    );
    plan!.site.osRelease = 'debian-12';
    plan!.servers.forEach((s) => (s.ssh = { address: '127.0.0.1', port: closed }));
    const target = plan!.servers[1]!;
    // The BMC network moved to loopback, where the test's BMC listens.
    const bmcNet = plan!.networks.find((n) => n.name === 'bmc')!;
    Object.assign(bmcNet, {
      cidr: '127.0.0.0/24',
      gateway: '127.0.0.1',
      pool: { start: '127.0.0.2', end: '127.0.0.200' },
    });
    plan!.servers.forEach((s, i) => {
      if (s.bmc) s.bmc.address = `127.0.0.${i + 2}`;
    });
    target.bmc = { address: '127.0.0.3', protocol: 'redfish' };
    const file = join(dir, 'site.yaml');
    await writeFile(file, stringify(plan));
    const pub = join(dir, 'id.pub');
    await writeFile(
      pub,
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ c\n',
    );
    const env = { ...process.env };
    Object.assign(process.env, {
      XDG_CONFIG_HOME: join(dir, 'config'),
      USTART_BMC_USERNAME: 'admin',
      USTART_BMC_PASSWORD: 'bmc-secret-not-printed',
    });
    try {
      const r = await run(
        'os-install',
        file,
        '--mirror',
        'http://deb.debian.org/debian',
        '--authorized-key',
        pub,
        '--advertise',
        '127.0.0.1',
        '--servers',
        target.hostname,
        '--bmc-port',
        String(bmcPort),
        '--work-dir',
        join(dir, 'work'),
      );
      expect(r.code).not.toBe(0);
      const all = r.out + r.err;
      expect(all).toContain(`${target.hostname} failed`);
      expect(all).toContain(`offers a TLS certificate uStart has not seen: sha256 ${fingerprint}`);
      expect(all).toContain('--accept-new-bmc-certificates');
      expect(all).not.toContain('bmc-secret-not-printed');
      // Pinning is checked right after the handshake: the BMC never saw a request (no login).
      expect(requests).toEqual([]);
    } finally {
      process.env = env;
      await new Promise((r) => bmc.close(r));
    }
  }, 60_000);

  it('refuses a private key given as --authorized-key', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-cli-'));
    const key = join(dir, 'id');
    await writeFile(
      key,
      '-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----\n',
    );
    const r = await run(
      'os-install',
      assetPath('samples', 'demo-stuttgart.yaml'),
      '--dry-run',
      '--mirror',
      'http://m/debian',
      '--authorized-key',
      key,
      '--advertise',
      '10.0.0.1',
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain('is a private key; give the .pub file');
  });

  it('--batch and --port must be whole numbers (port 1-65535); nothing is probed or installed otherwise', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-cli-'));
    const pub = join(dir, 'id.pub');
    await writeFile(
      pub,
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ c\n',
    );
    const base = [
      'os-install',
      assetPath('samples', 'demo-stuttgart.yaml'),
      '--dry-run',
      '--mirror',
      'http://m/debian',
      '--authorized-key',
      pub,
      '--advertise',
      '10.0.0.1',
    ];
    for (const [args, msg] of [
      [['--batch', 'abc'], '--batch abc: give a whole number of at least 1'],
      [['--batch', '0'], '--batch 0: give a whole number of at least 1'],
      [['--batch', '2.5'], '--batch 2.5: give a whole number of at least 1'],
      [['--port', 'abc'], '--port abc: give a whole number from 1 to 65535'],
      [['--port', '70000'], '--port 70000: give a whole number from 1 to 65535'],
    ] as const) {
      const r = await run(...base, ...args);
      expect(r.code).toBe(2);
      expect(r.err).toContain(msg);
      expect(r.out).not.toContain('dry run');
    }
  });
});

describe('PromptQueue', () => {
  it('asks concurrent questions one at a time on one interface: one answer answers one question', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (b: Buffer) => (shown += b.toString()));
    const q = new PromptQueue(input, output);
    try {
      const first = q.ask('accept A? ');
      const second = q.ask('accept B? ');
      let secondDone = false;
      void second.then(() => (secondDone = true));
      input.write('y\n');
      expect(await first).toBe('y');
      // The second question is asked only now; the "y" did not answer it.
      await new Promise((r) => setImmediate(r));
      expect(secondDone).toBe(false);
      expect(shown).toContain('accept B? ');
      input.write('n\n');
      expect(await second).toBe('n');
      expect(shown.indexOf('accept A? ')).toBeLessThan(shown.indexOf('accept B? '));
    } finally {
      q.close();
    }
  });

  it('close (Ctrl-C) rejects the question being asked and those queued, so no install waits on a prompt', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const shown = new Promise((r) => output.once('data', r));
    const q = new PromptQueue(input, output);
    const asked = q.ask('accept A? ');
    const queued = q.ask('accept B? ');
    // Closed while the first question is on the screen (readline's question alone would wait
    // for ever: Node 20 does not settle it on close).
    await shown;
    q.close();
    await expect(asked).rejects.toThrow(/abort/i);
    await expect(queued).rejects.toMatchObject({ code: 'Cancelled' });
  });
});
