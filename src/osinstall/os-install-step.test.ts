/**
 * The `os-install` local action (os-install-step.ts) on its own: the check per server (a
 * server that answers is done; only a refused connection means "no OS"; an uncertain probe
 * fails with the reason), and parallel installs sharing one InstallServer that starts with
 * the first install and stops after the last, over real HTTP with the fake BMC.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBmc } from '../../test/support/fake-bmc.js';
import type { HostlessContext } from '../engine/types.js';
import { parsePlanText, type Plan } from '../plan/index.js';
import type { OsInstallDeps } from './os-install.js';
import { osInstallStep } from './os-install-step.js';
import type { SshProbe } from './ssh-probe.js';

const sample = parsePlanText(
  readFileSync('assets/samples/demo-stuttgart.yaml', 'utf8'),
  'demo.yaml',
).plan!;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ c';
const HOSTKEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIG9zLWluc3RhbGwtdGVzdC1ob3N0LWtleS0xMjM0NTY3OA==';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

function plan(): Plan {
  const p = structuredClone(sample);
  p.site.osRelease = 'debian-12';
  delete p.access.jumpHost;
  p.servers = p.servers.slice(0, 3);
  return p;
}

function context(host: string, lines: string[] = []): HostlessContext {
  return { host, signal: new AbortController().signal, log: (l) => lines.push(l) };
}

function deps(p: Plan, probes: Record<string, SshProbe>, bmcs: Map<string, FakeBmc>) {
  const late = new Map<string, string>();
  const byAddress = new Map(p.servers.map((s) => [s.addresses.mgmt!, s.hostname]));
  const d: OsInstallDeps = {
    openBmc: (s) => {
      const b = new FakeBmc(s.bmc!.address, () => late.get(s.hostname)!, HOSTKEY);
      bmcs.set(s.hostname, b);
      return Promise.resolve(b);
    },
    sshProbe: (address) => Promise.resolve(probes[byAddress.get(address)!] ?? 'refused'),
    sshHostKey: () => Promise.resolve(HOSTKEY),
    recordHostKey: () => Promise.resolve(),
    acceptHostKey: () => Promise.resolve(true),
    buildIso: async (r, out) => {
      late.set(r.hostname, r.late);
      await writeFile(out, 'ISO!rest');
      return 8;
    },
  };
  return d;
}

describe('the os-install local action', () => {
  it('check: answers → done (even without a bmc in the plan); refused → not done; unknown → fails with the reason', async () => {
    const p = plan();
    const [a, b, c] = p.servers.map((s) => s.hostname) as [string, string, string];
    delete p.servers[0]!.bmc;
    const bmcs = new Map<string, FakeBmc>();
    const action = osInstallStep(
      p,
      {
        mirrorUrl: 'http://deb.debian.org/debian',
        authorizedKeys: [KEY],
        advertise: '127.0.0.1',
        workDir: '/nonexistent',
      },
      deps(p, { [a]: 'answers', [c]: 'unknown' }, bmcs),
    );
    const lines: string[] = [];
    expect(await action.check!(context(a, lines))).toBe(true);
    expect(lines.join('\n')).toContain('# os-install: skip: SSH answers at');
    expect(await action.check!(context(b))).toBe(false);
    await expect(action.check!(context(c))).rejects.toThrow(/neither answered nor refused/);
    expect(bmcs.size).toBe(0);
    expect(action.http.running).toBe(false);
  });

  it('refuses a confirm-reinstall name of no server before anything starts', () => {
    const p = plan();
    expect(() =>
      osInstallStep(
        p,
        {
          mirrorUrl: 'http://x/debian',
          authorizedKeys: [KEY],
          advertise: '127.0.0.1',
          workDir: '/x',
          confirmReinstall: ['ctl-1'],
        },
        deps(p, {}, new Map()),
      ),
    ).toThrow(/ctl-1 is no server of the plan/);
  });

  it('installs servers in parallel through one InstallServer, started by the first install, stopped after the last', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-step-'));
    const p = plan();
    const [a, b] = p.servers.map((s) => s.hostname) as [string, string];
    const bmcs = new Map<string, FakeBmc>();
    const action = osInstallStep(
      p,
      {
        mirrorUrl: 'http://deb.debian.org/debian',
        authorizedKeys: [KEY],
        advertise: '127.0.0.1',
        workDir: dir,
        sshPollMs: 1,
      },
      deps(p, {}, bmcs),
    );
    expect(action.http.running).toBe(false);
    const logs: Record<string, string[]> = { [a]: [], [b]: [] };
    await Promise.all([a, b].map((h) => action.run(context(h, logs[h]))));
    const bases = [a, b].map((h) => new URL(bmcs.get(h)!.media!).pathname.split('/')[1]);
    expect(bases[0]).toBe(bases[1]);
    expect(bmcs.get(a)!.calls).toContain('report 204');
    expect(bmcs.get(b)!.calls).toContain('report 204');
    for (const h of [a, b]) {
      expect(logs[h]!.map((l) => l.split(':')[0])).toEqual(
        expect.arrayContaining(['iso', 'media', 'power', 'installing', 'host-key', 'ssh', 'done']),
      );
    }
    expect(action.http.running).toBe(false);
    await expect(fetch(bmcs.get(a)!.media!)).rejects.toThrow();
    await action.close();
  });

  it('never installs a server twice in one run: after its installer reported, a retry refuses (its SSH refuses while it reboots)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-osi-step-'));
    const p = plan();
    const [a] = p.servers.map((s) => s.hostname) as [string];
    const bmcs = new Map<string, FakeBmc>();
    const d = { ...deps(p, {}, bmcs), acceptHostKey: () => Promise.resolve(false) };
    const action = osInstallStep(
      p,
      {
        mirrorUrl: 'http://deb.debian.org/debian',
        authorizedKeys: [KEY],
        advertise: '127.0.0.1',
        workDir: dir,
        sshPollMs: 1,
      },
      d,
    );
    const lines: string[] = [];
    // The key is not accepted: the host-step fails, saying what happens next.
    expect(await action.check!(context(a))).toBe(false);
    await expect(action.run(context(a, lines))).rejects.toThrow(/was not accepted/);
    expect(lines.some((l) => l.startsWith('host-key: installer reported'))).toBe(true);
    const first = bmcs.get(a)!;
    const installs = first.calls.filter((c) => c.startsWith('power')).length;
    // The consultant retries while the server reboots (SSH still refuses): nothing is done.
    await expect(action.check!(context(a))).rejects.toThrow(/already ran in this run/);
    await expect(action.run(context(a))).rejects.toThrow(/already ran in this run/);
    // Its BMC was not opened again, and the one opened saw no second power-on.
    expect(bmcs.get(a)).toBe(first);
    expect(first.calls.filter((c) => c.startsWith('power')).length).toBe(installs);
    await action.close();
  });
});
