import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PowerAction } from '../bmc/types.js';
import { FakeBmc } from '../../test/support/fake-bmc.js';
import { parsePlanText, type Plan } from '../plan/index.js';
import {
  decideOsInstall,
  runOsInstall,
  type OsInstallDeps,
  type OsInstallEvent,
} from './os-install.js';
import type { RenderedPreseed } from './preseed.js';
import { InstallServer } from './serve.js';
import { sshProbe } from './ssh-probe.js';
import { SshConfig } from '../ssh/targets.js';

const sample = parsePlanText(
  readFileSync('assets/samples/demo-stuttgart.yaml', 'utf8'),
  'demo.yaml',
).plan!;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ c';
const HOSTKEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIG9zLWluc3RhbGwtdGVzdC1ob3N0LWtleS0xMjM0NTY3OA==';

function plan(n = 2): Plan {
  const p = structuredClone(sample);
  p.site.osRelease = 'debian-12';
  delete p.access.jumpHost;
  p.servers = p.servers.slice(0, n);
  p.servers.forEach((s, i) => (s.bmc = { address: `10.9.0.${31 + i}`, protocol: 'redfish' }));
  return p;
}

let dir: string;
const listeners: NetServer[] = [];
afterEach(async () => {
  for (const l of listeners.splice(0)) await new Promise((r) => l.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function listen(onConn: (sock: Socket) => void): Promise<number> {
  const l = createServer(onConn);
  listeners.push(l);
  return new Promise((r) =>
    l.listen(0, '127.0.0.1', () => r((l.address() as { port: number }).port)),
  );
}

const OPTS = {
  mirrorUrl: 'http://deb.debian.org/debian',
  authorizedKeys: [KEY],
  advertise: '127.0.0.1',
  sshPollMs: 1,
};

function deps(answering: Set<string>, p: Plan) {
  const bmcs = new Map<string, FakeBmc>();
  const late = new Map<string, string>();
  const accepted: string[] = [];
  const log: string[] = [];
  let polls = 0;
  const d: OsInstallDeps = {
    openBmc: (s) => {
      const b = new FakeBmc(s.bmc!.address, () => late.get(s.hostname)!, HOSTKEY);
      bmcs.set(s.hostname, b);
      return Promise.resolve(b);
    },
    sshProbe: (addr) =>
      Promise.resolve(
        p.servers.some((s) => answering.has(s.hostname) && s.addresses.mgmt === addr)
          ? 'answers'
          : 'refused',
      ),
    // The installed system answers on the second poll.
    sshHostKey: (addr) => {
      const seen = polls++ % 2 === 0 ? undefined : HOSTKEY;
      log.push(`poll ${addr} ${seen ? 'key' : 'none'}`);
      return Promise.resolve(seen);
    },
    recordHostKey: (addr, port, key) => {
      log.push(`record ${addr}:${port} ${key.key}`);
      return Promise.resolve();
    },
    acceptHostKey: (host, key, fp) => {
      accepted.push(`${host} ${key.type} ${fp}`);
      return Promise.resolve(true);
    },
    buildIso: async (r: RenderedPreseed, out: string) => {
      late.set(r.hostname, r.late);
      await writeFile(out, 'ISO!rest');
      return 8;
    },
  };
  return { d, bmcs, accepted, log };
}

describe('os-install safety', () => {
  it('a server that answers on SSH is skipped without a typed confirmation; its BMC is never opened', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-'));
    const p = plan(2);
    const [a, b] = p.servers.map((s) => s.hostname) as [string, string];
    const { d, bmcs } = deps(new Set([a]), p);
    const events: OsInstallEvent[] = [];
    const r = await runOsInstall(
      p,
      {
        mirrorUrl: 'http://deb.debian.org/debian',
        authorizedKeys: [KEY],
        workDir: dir,
        advertise: '127.0.0.1',
        sshPollMs: 1,
        onEvent: (e) => events.push(e),
      },
      d,
    );
    expect(r.decisions.find((x) => x.host === a)).toMatchObject({ action: 'skip' });
    expect(r.decisions.find((x) => x.host === a)!.reason).toContain(`--confirm-reinstall ${a}`);
    expect(bmcs.has(a)).toBe(false);
    expect(r.installed).toEqual([b]);
    expect(events.some((e) => e.host === a && e.stage === 'skipped')).toBe(true);
  });

  it('a typed confirmation naming the server allows the reinstall; a name of no server is refused', async () => {
    const p = plan(2);
    const a = p.servers[0]!.hostname;
    const { d } = deps(new Set([a]), p);
    const ds = await decideOsInstall(p, { confirmReinstall: [a] }, d);
    expect(ds.find((x) => x.host === a)).toMatchObject({ action: 'reinstall' });
    expect(ds.find((x) => x.host === a)!.reason).toMatch(/ALL DATA/);
    await expect(decideOsInstall(p, { confirmReinstall: ['ctl-1'] }, d)).rejects.toThrow(
      /ctl-1 is no server of the plan/,
    );
    await expect(
      decideOsInstall(p, { servers: [p.servers[1]!.hostname], confirmReinstall: [a] }, d),
    ).rejects.toThrow(/not among the servers of this run/);
  });

  it('a dry run opens no BMC, builds and serves nothing, and says what it would do to which BMC', async () => {
    const p = plan(2);
    const { d, bmcs } = deps(new Set(), p);
    let built = 0;
    const r = await runOsInstall(
      p,
      {
        dryRun: true,
        mirrorUrl: 'http://deb.debian.org/debian',
        authorizedKeys: [KEY],
        workDir: '/nonexistent/never-made',
        advertise: '10.10.0.250',
        port: 8123,
      },
      { ...d, buildIso: () => Promise.resolve(built++) },
    );
    expect(bmcs.size).toBe(0);
    expect(built).toBe(0);
    expect(r.installed).toEqual([]);
    const text = r.wouldDo.join('\n');
    expect(text).toContain(
      'BMC 10.9.0.31 (redfish): insert virtual CD http://10.10.0.250:8123/<run token>/iso/',
    );
    expect(text).toContain('BMC 10.9.0.32');
    expect(text).toMatch(/one-time boot from Cd/);
  });

  it('refuses IPMI BMCs (no virtual media), servers without a BMC, and plans with a jump host', async () => {
    const p = plan(2);
    p.servers[0]!.bmc = { address: '10.9.0.31', protocol: 'ipmi' };
    delete p.servers[1]!.bmc;
    const { d } = deps(new Set(), p);
    const ds = await decideOsInstall(p, {}, d);
    expect(ds.map((x) => x.action)).toEqual(['refuse', 'refuse']);
    expect(ds[0]!.reason).toMatch(/IPMI/);
    expect(ds[1]!.reason).toMatch(/no bmc/);
    p.access.jumpHost = { address: 'bastion' };
    await expect(decideOsInstall(p, {}, d)).rejects.toThrow(/jump host/);
  });
});

describe('os-install run', () => {
  it('inserts the ISO, boots from CD once, cycles power, accepts the reported key, waits for SSH with it, ejects', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-'));
    const p = plan(3);
    const { d, bmcs, accepted } = deps(new Set(), p);
    const events: OsInstallEvent[] = [];
    const r = await runOsInstall(
      p,
      {
        batchSize: 2,
        mirrorUrl: 'http://deb.debian.org/debian',
        authorizedKeys: [KEY],
        workDir: dir,
        advertise: '127.0.0.1',
        sshPollMs: 1,
        onEvent: (e) => events.push(e),
      },
      d,
    );
    expect(r.failed).toEqual([]);
    expect(r.installed.sort()).toEqual(p.servers.map((s) => s.hostname).sort());
    for (const s of p.servers) {
      expect(bmcs.get(s.hostname)!.calls).toEqual([
        'insert',
        'boot Cd',
        'powerState',
        'power PowerCycle',
        'iso 206 ISO!',
        'report 204',
        'eject',
        'close',
      ]);
      expect(events.filter((e) => e.host === s.hostname).map((e) => e.stage)).toEqual([
        'iso',
        'media',
        'power',
        'installing',
        'host-key',
        'ssh',
        'done',
      ]);
    }
    expect(accepted[0]).toMatch(/ ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('fails the server when SSH presents another key than the installer reported', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-'));
    const p = plan(1);
    const { d } = deps(new Set(), p);
    const r = await runOsInstall(
      p,
      {
        mirrorUrl: 'http://deb.debian.org/debian',
        authorizedKeys: [KEY],
        workDir: dir,
        advertise: '127.0.0.1',
        sshPollMs: 1,
      },
      {
        ...d,
        sshHostKey: () =>
          Promise.resolve(
            'AAAAC3NzaC1lZDI1NTE5AAAAIG90aGVyLW1hY2hpbmUtb24tdGhlLWFkZHJlc3MtMTIzNA==',
          ),
      },
    );
    expect(r.failed[0]!.error).toMatch(/not the key the installer reported/);
  });
});

describe('InstallServer', () => {
  it('serves only under the run token, with ranges; takes reports only with a server token', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-'));
    await writeFile(join(dir, 'a.iso'), '0123456789');
    const s = new InstallServer({ advertise: '127.0.0.1', listen: '127.0.0.1' });
    await s.start();
    try {
      const url = s.addIso('a.iso', join(dir, 'a.iso'));
      expect((await fetch(url)).headers.get('accept-ranges')).toBe('bytes');
      const part = await fetch(url, { headers: { range: 'bytes=2-4' } });
      expect([part.status, part.headers.get('content-range'), await part.text()]).toEqual([
        206,
        'bytes 2-4/10',
        '234',
      ]);
      const tail = await fetch(url, { headers: { range: 'bytes=-3' } });
      expect(await tail.text()).toBe('789');
      expect((await fetch(url, { headers: { range: 'bytes=20-' } })).status).toBe(416);
      expect((await fetch(url.replace(s.runToken, 'guess'))).status).toBe(404);
      const token = s.reportTokenFor('h1');
      expect((await fetch(`${s.baseUrl}/hostkey/wrong?type=ssh-ed25519&key=AAAA`)).status).toBe(
        404,
      );
      expect((await fetch(`${s.baseUrl}/hostkey/${token}?type=ssh-dss&key=AAAA`)).status).toBe(400);
      const waiting = s.waitForHostKey('h1', new AbortController().signal, 'ssh-ed25519');
      expect(
        (
          await fetch(
            `${s.baseUrl}/hostkey/${token}?type=ssh-ed25519&key=${encodeURIComponent(HOSTKEY)}`,
          )
        ).status,
      ).toBe(204);
      expect(await waiting).toEqual([{ type: 'ssh-ed25519', key: HOSTKEY }]);
    } finally {
      await s.close();
    }
  });
});

describe('sshProbe (real TCP)', () => {
  it('answers only on an SSH- identification line, also after other lines; refused only on ECONNREFUSED; unknown otherwise', async () => {
    const banner = await listen((c) => c.end('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'));
    const preamble = await listen((c) => {
      c.write('Welcome\r\nauthorised use only\r\n');
      setImmediate(() => c.end('SSH-2.0-OpenSSH_9.2p1\r\n'));
    });
    const http = await listen((c) => c.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const closes = await listen((c) => c.destroy());
    const silent = await listen(() => undefined);
    const flood = await listen((c) => c.end('x\n'.repeat(300) + 'SSH-2.0-late\r\n'));
    const gone = await listen(() => undefined);
    await new Promise((r) => listeners.pop()!.close(r));
    expect(await sshProbe('127.0.0.1', banner)).toBe('answers');
    expect(await sshProbe('127.0.0.1', preamble)).toBe('answers');
    expect(await sshProbe('127.0.0.1', http)).toBe('unknown');
    expect(await sshProbe('127.0.0.1', closes)).toBe('unknown');
    expect(await sshProbe('127.0.0.1', silent, 300)).toBe('unknown');
    expect(await sshProbe('127.0.0.1', flood)).toBe('unknown');
    expect(await sshProbe('127.0.0.1', gone)).toBe('refused');
  });
});

describe('os-install safety: uncertain SSH, ~/.ssh/config routes, the second probe', () => {
  it('a server whose SSH probe is unknown is refused (not installed) unless confirmed by name', async () => {
    const p = plan(2);
    const [a, b] = p.servers.map((s) => s.hostname) as [string, string];
    const { d } = deps(new Set(), p);
    const unknown = { sshProbe: () => Promise.resolve('unknown' as const) };
    const ds = await decideOsInstall(p, {}, { ...d, ...unknown });
    expect(ds.map((x) => x.action)).toEqual(['refuse', 'refuse']);
    expect(ds[0]!.reason).toMatch(/neither answered nor refused/);
    expect(ds[0]!.reason).toContain(`--confirm-reinstall ${a}`);
    const confirmed = await decideOsInstall(p, { confirmReinstall: [a] }, { ...d, ...unknown });
    expect(confirmed.find((x) => x.host === a)).toMatchObject({ action: 'reinstall' });
    expect(confirmed.find((x) => x.host === b)).toMatchObject({ action: 'refuse' });
  });

  it('refuses a server that ~/.ssh/config reaches through a ProxyJump or at another port or HostName', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-'));
    const p = plan(3);
    const [a, b, c] = p.servers as [
      (typeof p.servers)[0],
      (typeof p.servers)[0],
      (typeof p.servers)[0],
    ];
    delete a.ssh;
    delete b.ssh;
    c.ssh = { address: c.addresses.mgmt! };
    const file = join(dir, 'config');
    await writeFile(
      file,
      [
        `Host ${c.addresses.mgmt}`,
        '  ProxyJump bastion.example',
        `Host ${a.hostname}`,
        '  HostName 192.0.2.77',
        `Host ${b.hostname}`,
        '  Port 2222',
        '',
      ].join('\n'),
    );
    // A fourth server behind a ProxyCommand, which uStart cannot run: refused too.
    const d4 = { ...c, hostname: `${c.hostname}-x`, ssh: { address: '192.0.2.99' } };
    await writeFile(file, `Host 192.0.2.99\n  ProxyCommand nc %h %p\n`, { flag: 'a' });
    const behind = await decideOsInstall(
      { ...p, servers: [d4] },
      { sshConfig: await SshConfig.load({ file, systemFile: null }) },
      { ...deps(new Set(), p).d, sshProbe: () => Promise.resolve('refused') },
    );
    expect(behind[0]!.action).toBe('refuse');
    expect(behind[0]!.reason).toContain("uStart's SSH client cannot run a ProxyCommand");
    const sshConfig = await SshConfig.load({ file, systemFile: null });
    const { d } = deps(new Set(), p);
    let probes = 0;
    const ds = await decideOsInstall(
      p,
      { sshConfig },
      {
        ...d,
        sshProbe: () => {
          probes++;
          return Promise.resolve('refused');
        },
      },
    );
    expect(ds.map((x) => x.action)).toEqual(['refuse', 'refuse', 'refuse']);
    expect(ds[0]!.reason).toContain(`at 192.0.2.77:22, not ${a.addresses.mgmt}:22`);
    expect(ds[1]!.reason).toContain(`:2222, not ${b.addresses.mgmt}:22`);
    expect(ds[2]!.reason).toContain('through the jump host bastion.example');
    expect(probes).toBe(0);
    // Without those entries the same servers are installed.
    const plain = await decideOsInstall(
      p,
      {},
      { ...d, sshProbe: () => Promise.resolve('refused') },
    );
    expect(plain.map((x) => x.action)).toEqual(['install', 'install', 'install']);
  });

  it('probes again before inserting the ISO: a server that answers by then is failed and its BMC untouched', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-'));
    const p = plan(2);
    const [a, b] = p.servers.map((s) => s.hostname) as [string, string];
    const { d, bmcs } = deps(new Set(), p);
    const calls = new Map<string, number>();
    const r = await runOsInstall(
      p,
      { ...OPTS, workDir: dir },
      {
        ...d,
        // a comes up between the decision and its install; b stays refused.
        sshProbe: (addr) => {
          const n = (calls.get(addr) ?? 0) + 1;
          calls.set(addr, n);
          const isA = addr === p.servers[0]!.addresses.mgmt;
          return Promise.resolve(isA && n > 1 ? 'answers' : 'refused');
        },
      },
    );
    expect(r.decisions.map((x) => x.action)).toEqual(['install', 'install']);
    expect(r.failed).toEqual([{ host: a, error: expect.stringMatching(/answers now/) as string }]);
    expect(r.failed[0]!.error).toContain(`--confirm-reinstall ${a}`);
    expect(bmcs.get(a)!.calls).toEqual(['close']);
    expect(r.installed).toEqual([b]);
    expect(bmcs.get(b)!.calls).toContain('insert');
    // Confirmed by name, the same server is reinstalled.
    calls.clear();
    const ok = await runOsInstall(
      p,
      { ...OPTS, workDir: dir, servers: [a], confirmReinstall: [a] },
      {
        ...d,
        sshProbe: (addr) => {
          const n = (calls.get(addr) ?? 0) + 1;
          calls.set(addr, n);
          return Promise.resolve(n > 1 ? 'answers' : 'refused');
        },
      },
    );
    expect(ok.installed).toEqual([a]);
  });

  it('records the host key only after SSH presented exactly that key; a mismatch records nothing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-'));
    const p = plan(1);
    const { d, log } = deps(new Set(), p);
    const addr = p.servers[0]!.addresses.mgmt!;
    const r = await runOsInstall(
      p,
      { ...OPTS, workDir: dir },
      {
        ...d,
        acceptHostKey: () => {
          log.push('accept');
          return Promise.resolve(true);
        },
      },
    );
    expect(r.installed).toHaveLength(1);
    expect(log).toEqual([
      'accept',
      `poll ${addr} none`,
      `poll ${addr} key`,
      `record ${addr}:22 ${HOSTKEY}`,
    ]);
    log.length = 0;
    const other = 'AAAAC3NzaC1lZDI1NTE5AAAAIG90aGVyLW1hY2hpbmUtb24tdGhlLWFkZHJlc3MtMTIzNA==';
    const bad = await runOsInstall(
      p,
      { ...OPTS, workDir: dir },
      { ...d, sshHostKey: () => Promise.resolve(other) },
    );
    expect(bad.failed).toHaveLength(1);
    expect(log.filter((l) => l.startsWith('record'))).toEqual([]);
  });

  it('a cancel is reported as Cancelled, and the CD is ejected and the BMC closed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-'));
    const p = plan(1);
    const { d, bmcs } = deps(new Set(), p);
    const controller = new AbortController();
    const events: OsInstallEvent[] = [];
    const run = runOsInstall(
      p,
      {
        ...OPTS,
        workDir: dir,
        signal: controller.signal,
        onEvent: (e) => {
          events.push(e);
          // The installer never reports; the consultant presses Ctrl-C meanwhile.
          if (e.stage === 'installing') controller.abort(new Error('SIGINT'));
        },
      },
      {
        ...d,
        openBmc: (s) => {
          const b = new FakeBmc(s.bmc!.address, () => '', HOSTKEY);
          b.power = (a: PowerAction) => {
            b.calls.push(`power ${a}`);
            return Promise.resolve();
          };
          bmcs.set(s.hostname, b);
          return Promise.resolve(b);
        },
      },
    );
    await expect(run).rejects.toMatchObject({ code: 'Cancelled' });
    const failed = events.find((e) => e.stage === 'failed')!;
    expect(failed.message).toMatch(/cancelled/);
    expect(failed.message).not.toMatch(/no host key report/);
    expect(bmcs.get(p.servers[0]!.hostname)!.calls.slice(-2)).toEqual(['eject', 'close']);
  });
});
