/**
 * The offline bundle reaches the hosts as a step of the run, on 2 lab hosts that start
 * without it (the uMetal lab fixture with `bundleDelivery: 'none'`; the lab's plan is
 * air-gapped, and the lab hosts have no route out):
 *
 * - `ustart run` (a real CLI process) given the bundle but only umetal.package-source: the
 *   step fails on every host saying the site is air-gapped, the host has no bundle and how to
 *   give it, instead of carrying on with the host's own package sources;
 * - the Install page's path (the core's run api) with the bundle: umetal.bundle pushes it to
 *   the first host (its progress in the step's log), the other fetches it from that one over
 *   the lab's bridge, then package-source points apt at it;
 * - a second run skips umetal.bundle on every host through its check.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap, type RunBundle, type RunInfo } from '../../src/api/index.js';
import { createCore, type Core } from '../../src/app/index.js';
import { defaultRunsDir, logPath } from '../../src/engine/index.js';
import { BUNDLE_STEP_ID, PACKAGE_SOURCE_STEP_ID } from '../../src/bundle/delivery-step.js';
import { planToYaml } from '../../src/plan/save.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import { labAvailable } from '../lab/require-lab.js';
import { prepareUmetalLab, type UmetalLab } from '../support/umetal-lab.js';

const available = labAvailable();
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ustart.mjs');
const STEPS = [BUNDLE_STEP_ID, PACKAGE_SOURCE_STEP_ID];

describe.skipIf(!available)('the run delivers the offline bundle (2 lab hosts)', () => {
  let u: UmetalLab;
  let work: string;
  let core: Core;
  let bundle: RunBundle;
  const planFile = () => join(work, 'site.yaml');

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ustart-bundle-delivery-'));
    u = await prepareUmetalLab({ hosts: 2, bundleDelivery: 'none' });
    expect(u.plan.site.airGapped).toBe(true);
    // Two hosts make a plan that validation refuses to install (no compute role, no provider
    // network); the second controller computes too, and the cloud gets a provider network,
    // which a compute server must carry (tagged on its one NIC: the steps run here never
    // configure it).
    const plan = structuredClone(u.plan);
    plan.servers[1]!.roles = ['controller', 'compute'];
    plan.networks.push({
      name: 'provider',
      purpose: 'provider',
      vlan: 300,
      cidr: '203.0.113.0/24',
      mtu: 1500,
    });
    plan.servers[1]!.nics[0]!.tagged = ['provider'];
    await writeFile(planFile(), planToYaml(plan));
    bundle = { path: u.bundleDir, publicKey: u.bundlePublicKeyPath };
    core = createCore({
      mode: 'test',
      stateDir: join(work, '.state'),
      hostPages: {
        readOnlyKnownHosts: [],
        sshConfigFile: null,
        clusterLock: false,
        retryDelayMs: () => 0,
        // The lab's host keys and login key; the core disposes the transport with its run.
        runTransport: async () =>
          new Ssh2Transport({
            knownHosts: new KnownHosts(u.lab.knownHostsPath),
            agentSocket: null,
            identityFiles: [u.lab.clientKeyPath],
          }),
      },
    });
  }, 300_000);
  afterAll(async () => {
    await core?.dispose();
    await u?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const sh = async (host: number, command: string) => {
    const r = await u.lab.exec(host, command);
    expect(r.code, `${command}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  /** Starts a run of the two steps through the core and waits for its end. */
  async function runSteps(): Promise<RunInfo> {
    const ended = new Map<string, string>();
    let wake: () => void = () => undefined;
    const off = core.client.on('run:changed', (e) => {
      if (e.state !== 'running') ended.set(e.runId, e.state);
      wake();
    });
    try {
      const { runId } = unwrap(
        await core.client.runStart({
          planFile: planFile(),
          phases: ['umetal'],
          steps: STEPS,
          pauseOnFailure: false,
          bundle,
        }),
      );
      while (!ended.has(runId)) await new Promise<void>((r) => (wake = r));
      return unwrap(await core.client.runGet({ planFile: planFile(), runId }));
    } finally {
      off();
    }
  }

  it('fails package-source clearly on an air-gapped host without the bundle', async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'run',
        '--verbose',
        planFile(),
        '--phase',
        'umetal',
        // The delivery is left out: the hosts have no bundle when package-source runs.
        '--steps',
        PACKAGE_SOURCE_STEP_ID,
        '--bundle',
        bundle.path,
        '--bundle-key',
        bundle.publicKey,
        '-i',
        u.lab.clientKeyPath,
        '--known-hosts',
        u.lab.knownHostsPath,
        '--runs-dir',
        join(work, 'cli-runs'),
      ],
      {
        env: { ...process.env, XDG_CONFIG_HOME: join(work, 'config'), NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out).not.toBe(0);
    for (const h of u.lab.hosts) {
      expect(out).toMatch(
        new RegExp(
          `${h.name} +│ error: site is air-gapped \\(site.airGapped: true\\) and ${h.name} has no offline bundle at /var/lib/ustart/bundle`,
        ),
      );
    }
    expect(out).toContain('ustart run --bundle BUNDLE --bundle-key PUB');
    expect(out).not.toContain("keeping this host's own package sources");
    // Nothing changed the hosts' sources.
    await sh(0, 'test ! -e /etc/apt/sources.list.d/ustart-bundle.list');
  }, 300_000);

  it('pushes the bundle as a step, then package-source uses it; a second run skips the push', async () => {
    const first = await runSteps();
    const failures = first.steps
      .flatMap((s) =>
        Object.entries(s.hostStates).map(([h, v]) => `${s.id}@${h}: ${v.state} ${v.message ?? ''}`),
      )
      .join('\n');
    expect(first.state, failures).toBe('succeeded');
    expect(first.steps.map((s) => s.id)).toEqual(STEPS);
    const runDir = join(defaultRunsDir(planFile()), first.runId);
    const manifestSha = createHash('sha256').update(u.bundle.report.manifestBytes!).digest('hex');
    // One host received the bundle from this machine (its progress in its log); the other
    // fetched it from that one over the lab's bridge.
    const logs = new Map<string, string>();
    for (const h of u.lab.hosts) {
      logs.set(h.name, await readFile(logPath(runDir, BUNDLE_STEP_ID, h.name), 'utf8'));
    }
    const sources = u.lab.hosts.filter((h) => !logs.get(h.name)!.includes('fetching the bundle'));
    expect(sources).toHaveLength(1);
    const sourceHost = sources[0]!.name;
    for (const h of u.lab.hosts) {
      expect(first.steps[0]!.hostStates[h.name]?.state).toBe('succeeded');
      const log = logs.get(h.name)!;
      expect(log).toMatch(/upload: \d+ file\(s\), [\d.]+ MiB/);
      expect(log).toContain('upload: done');
      if (h.name === sourceHost) {
        expect(log).toMatch(/upload: \d+ % \([\d.]+ MiB of [\d.]+ MiB\)/);
        expect(log).toContain(
          `the bundle is on ${h.name}, every file checked there (from this machine)`,
        );
      } else {
        expect(log).toContain(`fetching the bundle from ${sourceHost} (http://`);
        expect(log).toContain(
          `the bundle is on ${h.name}, every file checked there (from ${sourceHost}, over the site network)`,
        );
      }
      expect((await sh(h.index, 'cat /var/lib/ustart/bundle/.ustart-verified')).trim()).toBe(
        manifestSha,
      );
      expect(await sh(h.index, 'cat /etc/apt/sources.list.d/ustart-bundle.list')).toBe(
        'deb [trusted=yes] file:/var/lib/ustart/bundle/apt ./\n',
      );
      const source = await readFile(logPath(runDir, PACKAGE_SOURCE_STEP_ID, h.name), 'utf8');
      expect(source).toContain('apt now installs from the bundle only');
    }

    const second = await runSteps();
    expect(second.state).toBe('succeeded');
    for (const s of second.steps) {
      for (const h of u.lab.hosts) expect(s.hostStates[h.name]?.state, s.id).toBe('skipped');
    }
  }, 600_000);
});
