/**
 * `ustart run PLAN --phase os-install`: the runbook's first phase, run by the real engine
 * through the CLI. One server answers on SSH (a lab host's real sshd): its check skips it and
 * its BMC is never opened. The other's SSH port refuses (nothing listens): it is installed
 * through a fake BMC that plays the installer over the real InstallServer (fetches the ISO,
 * reports the host key), and "comes up" as a TCP relay on its SSH port to a second lab host,
 * whose real host key the reporter sent; uStart then reads that key over SSH and records it.
 * Missing inputs are refused before anything starts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../src/api/index.js';
import { createCore } from '../../src/app/core.js';
import { registerRun } from '../../src/cli/commands/run.js';
import { bufferOutput } from '../../src/cli/output.js';
import { listRuns, logPath, readJournal, summarize } from '../../src/engine/index.js';
import { isUstartError } from '../../src/errors.js';
import type { Server as PlanServer } from '../../src/plan/index.js';
import { assetPath } from '../../src/util/assets.js';
import { closedPort, debianDemoSite, fakeInstall, relay } from '../support/os-install-site.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';

const available = labAvailable();
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ c';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-run-osi-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** uStart's state folder (known_hosts) in a temp folder for the test's duration. */
function isolateState(dir: string): void {
  const before = process.env.XDG_CONFIG_HOME;
  process.env.XDG_CONFIG_HOME = join(dir, 'config');
  cleanups.push(() => {
    if (before === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = before;
    return Promise.resolve();
  });
}

/** A relay opened for the test's length (the installed system coming up). */
async function relayed(port: number, address: string, toPort: number): Promise<void> {
  cleanups.push(await relay(port, address, toPort));
}

async function ustartRun(args: string[], hooks: Parameters<typeof registerRun>[4] = {}) {
  let code: number | undefined;
  const out = bufferOutput();
  const program = new Command('ustart').exitOverride();
  registerRun(program, out, (c) => (code = c), undefined, hooks);
  await program.parseAsync(['node', 'ustart', 'run', ...args]);
  return { code, out };
}

describe('ustart run --phase os-install: missing inputs', () => {
  it('names every missing input before anything starts; no BMC is opened, no run made', async () => {
    const dir = await tempDir();
    const plan = join(dir, 'site.yaml');
    const text = await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8');
    await writeFile(plan, text.replace('osRelease: ubuntu-24.04', 'osRelease: debian-12'));
    const runs = join(dir, 'runs');
    let opened = 0;
    const hooks = { openBmc: () => Promise.reject(new Error(`opened ${++opened}`)) };
    const refused = await ustartRun(
      [plan, '--phase', 'os-install', '--advertise', '10.10.0.250', '--runs-dir', runs],
      hooks,
    ).catch((e: unknown) => e);
    expect(isUstartError(refused, 'InvalidArgument')).toBe(true);
    const message = (refused as Error).message;
    expect(message).toContain('--mirror URL');
    expect(message).toContain('--authorized-key FILE.pub');
    expect(message).not.toContain('--advertise ADDRESS');
    expect(message).toContain('ustart run PLAN --phase os-install --mirror');
    expect(opened).toBe(0);
    expect(await listRuns(runs).catch(() => [])).toEqual([]);

    // Without a test's BMCs the logins are an input too.
    const noLogins = await ustartRun([plan, '--phase', 'os-install', '--runs-dir', runs]).catch(
      (e: unknown) => e,
    );
    expect((noLogins as Error).message).toContain('--bmc-auth-file FILE or --bmc-user USER');
  });
});

describe.skipIf(!available)('ustart run --phase os-install on lab hosts', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ hosts: 2 });
  }, 120_000);
  afterAll(async () => {
    await lab?.dispose();
  });

  it('skips the server that answers on SSH (BMC never opened) and installs the one that refuses', async () => {
    const dir = await tempDir();
    isolateState(dir);
    // The demo site (a valid plan), Debian 12, its first two servers in the run (--hosts).
    const doc = await debianDemoSite();
    const [installed, fresh] = doc.servers as [PlanServer, PlanServer];
    // The installed server: a lab host's real sshd answers.
    installed.ssh = { address: lab.hosts[0]!.address, port: lab.hosts[0]!.port };
    // The new server: nothing listens on its SSH port until its "installed system" comes up.
    const port = await closedPort();
    fresh.ssh = { address: '127.0.0.1', port };
    const plan = join(dir, 'site.yaml');
    await writeFile(plan, stringify(doc));
    const pub = join(dir, 'id.pub');
    await writeFile(pub, `${KEY}\n`);
    const reported = lab.hosts[1]!.publicKey.split(' ')[1]!;

    // The installed system comes up on the server's SSH address.
    const fake = fakeInstall(reported, () =>
      relayed(port, lab.hosts[1]!.address, lab.hosts[1]!.port),
    );
    const bmcs = fake.bmcs;
    const runs = join(dir, 'runs');
    const { code, out } = await ustartRun(
      [
        plan,
        '--phase',
        'os-install',
        '--mirror',
        'http://deb.debian.org/debian',
        '--authorized-key',
        pub,
        '--advertise',
        '127.0.0.1',
        '--work-dir',
        join(dir, 'iso'),
        '--accept-new-host-keys',
        '--hosts',
        `${installed.hostname},${fresh.hostname}`,
        '--runs-dir',
        runs,
      ],
      { openBmc: fake.openBmc, buildIso: fake.buildIso },
    );
    expect(code, out.err).toBe(0);
    expect([...bmcs.keys()]).toEqual([fresh.hostname]);
    const bmc = bmcs.get(fresh.hostname)!;
    expect(bmc.calls).toEqual([
      'insert',
      'boot Cd',
      'powerState',
      'power PowerCycle',
      'iso 206 ISO!',
      'report 204',
      'eject',
      'close',
    ]);
    // The one InstallServer of the phase stopped when the install ended.
    await expect(fetch(bmc.media!)).rejects.toThrow();

    const [run] = await listRuns(runs);
    const runDir = join(runs, run!.runId);
    const summary = summarize((await readJournal(join(runDir, 'journal.jsonl'))).records);
    const step = summary.steps.get('umetal.os-install')!;
    expect(step.hosts.get(installed.hostname)!.state).toBe('skipped');
    expect(step.hosts.get(fresh.hostname)!.state).toBe('succeeded');
    const log = await readFile(logPath(runDir, 'umetal.os-install', fresh.hostname), 'utf8');
    for (const stage of ['iso', 'media', 'power', 'installing', 'host-key', 'ssh', 'done'])
      expect(log).toMatch(new RegExp(`^${stage}: `, 'm'));
    const skippedLog = await readFile(
      logPath(runDir, 'umetal.os-install', installed.hostname),
      'utf8',
    );
    expect(skippedLog).toContain('# os-install: skip: SSH answers at');
    // Recorded only after SSH there presented exactly the reported key.
    const known = await readFile(join(dir, 'config', 'ustart', 'known_hosts'), 'utf8');
    expect(known).toContain(`[127.0.0.1]:${port} ssh-ed25519 ${reported}`);
  }, 120_000);

  it("skips the answering server, installs the refusing one, records the reported key in the app's known_hosts", async () => {
    const dir = await tempDir();
    const doc = await debianDemoSite();
    const [installed, fresh] = doc.servers as [PlanServer, PlanServer];
    installed.ssh = { address: lab.hosts[0]!.address, port: lab.hosts[0]!.port };
    const port = await closedPort();
    fresh.ssh = { address: '127.0.0.1', port };
    const planFile = join(dir, 'site.yaml');
    await writeFile(planFile, stringify(doc));
    const reported = lab.hosts[1]!.publicKey.split(' ')[1]!;
    // The installed system comes up on the server's SSH port of the moment.
    const fake = fakeInstall(reported, () =>
      relayed(fresh.ssh!.port!, lab.hosts[1]!.address, lab.hosts[1]!.port),
    );
    const bmcs = fake.bmcs;
    const stateDir = join(dir, 'state');
    const core = createCore({
      mode: 'test',
      stateDir,
      hostPages: {
        clusterLock: false,
        sshConfigFile: null,
        readOnlyKnownHosts: [],
        osInstallHooks: { openBmc: fake.openBmc, buildIso: fake.buildIso },
      },
    });
    cleanups.push(() => core.dispose());
    // Every run's end, recorded from the start (a run may end before a wait begins).
    const ends = new Map<string, string>();
    let woke: (() => void) | undefined;
    core.client.on('run:changed', (e) => {
      if (e.state === 'running') return;
      ends.set(e.runId, e.state);
      woke?.();
    });
    const end = async (runId: string) => {
      while (!ends.has(runId)) await new Promise<void>((r) => (woke = r));
      return ends.get(runId);
    };
    const started = unwrap(
      await core.client.runStart({
        planFile,
        phases: ['os-install'],
        hosts: [installed.hostname, fresh.hostname],
        osInstall: {
          mirrorUrl: 'http://deb.debian.org/debian',
          advertise: '127.0.0.1',
          authorizedKeys: `# the consultant\n${KEY}\n`,
          acceptReportedHostKeys: true,
        },
      }),
    );
    expect(await end(started.runId)).toBe('succeeded');
    expect([...bmcs.keys()]).toEqual([fresh.hostname]);
    expect(bmcs.get(fresh.hostname)!.calls).toContain('report 204');
    // The phase's HTTP server ended with the run.
    await expect(fetch(bmcs.get(fresh.hostname)!.media!)).rejects.toThrow();
    const known = await readFile(join(stateDir, 'known_hosts'), 'utf8');
    expect(known).toContain(`[127.0.0.1]:${port} ssh-ed25519 ${reported}`);

    // Without the checkbox the key is not accepted: the host-step fails saying what to do.
    const again = await closedPort();
    fresh.ssh = { address: '127.0.0.1', port: again };
    await writeFile(planFile, stringify(doc));
    bmcs.clear();
    const second = unwrap(
      await core.client.runStart({
        planFile,
        phases: ['os-install'],
        hosts: [fresh.hostname],
        pauseOnFailure: false,
        osInstall: {
          mirrorUrl: 'http://deb.debian.org/debian',
          advertise: '127.0.0.1',
          authorizedKeys: KEY,
        },
      }),
    );
    expect(await end(second.runId)).toBe('failed');
    const runDir = join(dir, '.ustart', 'runs', second.runId);
    const log = await readFile(logPath(runDir, 'umetal.os-install', fresh.hostname), 'utf8');
    expect(log).toMatch(/^host-key: installer reported ssh-ed25519 SHA256:/m);
    expect(log).toContain('was not accepted');
    expect(log).toContain('Connect offers the key');
    expect(await readFile(join(stateDir, 'known_hosts'), 'utf8')).not.toContain(`:${again}]`);
  }, 120_000);
});
