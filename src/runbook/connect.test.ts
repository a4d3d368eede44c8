/**
 * The connect phase's scripts run for real on this machine (they only read), under a
 * temporary USTART_ROOT, and what they write goes through the same schemas, preflight and
 * network matrix as on a site. Network probes go to loopback addresses only.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../plan/load.js';
import type { Plan, Server } from '../plan/schema.js';
import { hostContext, siteContext } from '../render/context.js';
import { hostEnvFile } from '../render/host-env.js';
import { assetPath } from '../util/assets.js';
import { type HostFacts, HostFacts as HostFactsSchema, NetcheckResult } from './fact-schemas.js';
import { defaultRunbookDir } from './load.js';
import { networkMatrix } from './netmatrix.js';
import { type GatheredFacts, preflight } from './preflight.js';

let demo: Plan;
let root: string;
beforeAll(async () => {
  demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  root = await mkdtemp(join(tmpdir(), 'ustart-connect-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs a runbook script as the engine would, with lib.sh and the host's env under `root`. */
async function runStep(
  stepId: string,
  script: string,
  server: Server,
  staged: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const lib = join(root, 'lib.sh');
  await writeFile(lib, await readFile(join(defaultRunbookDir(), 'scripts', 'lib.sh')));
  const hostDir = join(root, 'hosts', server.hostname);
  await mkdir(join(hostDir, 'steps', stepId, 'files'), { recursive: true });
  await writeFile(join(hostDir, 'env'), hostEnvFile(hostContext(siteContext(demo), server)));
  for (const [path, text] of Object.entries(staged)) {
    const target = join(hostDir, 'steps', stepId, 'files', path);
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, text);
  }
  const stepDir = join(root, 'steps', stepId);
  await mkdir(stepDir, { recursive: true });
  const text = (await readFile(join(defaultRunbookDir(), script), 'utf8')).replace(
    '. /var/lib/ustart/lib.sh',
    `. ${lib}`,
  );
  await writeFile(join(stepDir, 'run.sh'), text);
  const r = spawnSync('bash', [join(stepDir, 'run.sh')], {
    encoding: 'utf8',
    env: { ...process.env, USTART_ROOT: root },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('connect.facts on this machine', () => {
  let facts: HostFacts;
  let window: GatheredFacts['window'];

  beforeAll(async () => {
    const from = Date.now();
    const r = await runStep('connect.facts', 'scripts/connect/facts.sh', demo.servers[0]!);
    window = { from, to: Date.now() };
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^gathering facts on /);
    facts = HostFactsSchema.parse(
      JSON.parse(await readFile(join(root, 'out', 'facts.json'), 'utf8')),
    );
  });

  it('reports what the machine really is', async () => {
    const osRelease = await readFile('/etc/os-release', 'utf8');
    expect(osRelease).toContain(`VERSION_ID="${facts.os.versionId}"`);
    expect(facts.cpu.count).toBeGreaterThan(0);
    expect(facts.memoryKiB).toBeGreaterThan(1024 * 1024);
    expect(facts.links?.map((l) => l.ifname)).toContain('lo');
    expect(Math.abs(facts.time.epochMs - Date.now())).toBeLessThan(60_000);
  });

  it('reports the preflight facts as this machine has them', async () => {
    const stat = spawnSync('stat', ['-fc', '%T', '/sys/fs/cgroup/'], { encoding: 'utf8' });
    expect(facts.cgroupFs).toBe(stat.stdout.trim());
    const machineId = await readFile('/etc/machine-id', 'utf8').catch(() => '');
    expect(facts.machineId).toBe(machineId.trim());
    expect(Object.keys(facts.kernelModules!).sort()).toEqual(['br_netfilter', 'overlay', 'rbd']);
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    expect(facts.swap!.activeKiB).toBe(Number(/^SwapTotal:\s+(\d+)/m.exec(meminfo)![1]));
    expect(facts.freeBytes.var).toBeGreaterThan(0);
    expect(facts.mounts!.var).toMatch(/^\//);
    // ctl-01 plans no OSD disk; both VIPs are probed.
    expect(facts.osdDisks).toEqual([]);
    expect(facts.vips!.map((v) => [v.name, v.address])).toEqual([
      ['controlPlaneVip', demo.kubernetes.controlPlaneVip],
      ['publicVip', demo.openstack.publicVip],
    ]);
  });

  it('gives a preflight finding for exactly the NIC whose MAC differs from the plan', () => {
    const link = facts.links!.find(
      (l) => l.ifname !== 'lo' && l.address && l.address !== '00:00:00:00:00:00',
    );
    expect(link, 'this machine needs one NIC with a MAC').toBeDefined();
    const plan = structuredClone(demo);
    const server = plan.servers[0]!;
    server.nics = [
      { name: link!.ifname, mac: link!.address!, speedGbps: 10, network: 'mgmt' },
      { name: 'lo', mac: '02:00:00:00:00:99', speedGbps: 10, network: 'storage' },
    ];
    const findings = preflight(plan, new Map([[server.hostname, { facts, window }]]));
    const macs = findings.filter((f) => f.rule === 'facts-mac-differs');
    expect(macs).toEqual([
      expect.objectContaining({
        severity: 'error',
        path: '/servers/0/nics/1/mac',
        message: expect.stringContaining(
          'NIC lo has MAC 00:00:00:00:00:00, the plan says 02:00:00:00:00:99',
        ),
      }),
    ]);
    expect(findings.some((f) => f.rule === 'facts-clock-skew')).toBe(false);
  });
});

describe('connect.netcheck on loopback', () => {
  it('measures each peer and the planned MTU, and the matrix judges it', async () => {
    const server = demo.servers[0]!;
    const peers = 'ctl-02\tmgmt\t127.0.0.2\t1500\nctl-03\tmgmt\t127.0.0.3\t9000\n';
    const r = await runStep('connect.netcheck', 'scripts/connect/netcheck.sh', server, {
      'etc/ustart/netcheck-peers.tsv': peers,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ctl-02 on mgmt (127.0.0.2): loss 0%');
    const result = NetcheckResult.parse(
      JSON.parse(await readFile(join(root, 'out', 'netcheck.json'), 'utf8')),
    );
    expect(result.probes.map((p) => [p.to, p.lossPercent, p.mtuOk])).toEqual([
      ['ctl-02', 0, true],
      ['ctl-03', 0, true],
    ]);
    const plan = structuredClone(demo);
    plan.servers = plan.servers.slice(0, 3);
    const matrix = networkMatrix(plan, [result]);
    const fromFirst = matrix.networks.mgmt!.filter((c) => c.from === server.hostname);
    expect(fromFirst.map((c) => [c.to, c.ok])).toEqual([
      ['ctl-02', true],
      ['ctl-03', true],
    ]);
    // ctl-02 and ctl-03 did not report: their rows are findings, not silence.
    expect(matrix.findings.filter((f) => f.rule === 'net-not-measured').length).toBeGreaterThan(0);
  });
});
