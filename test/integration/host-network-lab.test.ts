/**
 * umetal.host-network for real on two lab hosts (real Linux links in network namespaces),
 * run by the engine over SSH from the plan's render, then the traffic proven between hosts:
 *
 * - a storage network with MTU 9000 on a second link (`eth1`, on a bridge with jumbo
 *   frames): the step sets MTU and address, persists the netplan file (mode 0600), a
 *   don't-fragment ping at 8972 bytes crosses, a second run is skipped by the check, and the
 *   reset (twice) leaves nothing behind;
 * - a wrong MTU is caught: a bridge port left at 1500 drops the planned 9000-byte frames
 *   (the DF ping fails while small pings pass), and a management link whose MTU is below what
 *   the plan's VLANs on it need stops the step before anything changes (uStart never
 *   changes the management link);
 * - on kernels with 802.1Q (module 8021q), the storage network as VLAN 200 tagged on the
 *   management link `eth0`: the VLAN interface exists with id 200, the DF ping at 8972 crosses
 *   it, and tcpdump on the lab bridge sees the frames carry tag 200. This machine's kernel may
 *   be built without VLAN support: then that case is skipped, saying so.
 *
 * The plan's OS is ubuntu-24.04: the persisted file is netplan's, which needs no package
 * (Debian's ifupdown would be installed from the bundle; its file is unit-tested by the
 * render). netplan itself is not on this machine, so `netplan generate` is not run here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEngine, resolverFromPlan, type StepSpec } from '../../src/engine/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { Plan } from '../../src/plan/schema.js';
import { RULES, validatePlan } from '../../src/plan/validate/index.js';
import { Renderer } from '../../src/render/render.js';
import { loadSiteRunbook, toStepSpecs } from '../../src/render/step-specs.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import { recordEvents } from '../support/engine-events.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';

const available = labAvailable();
const STEP = 'umetal.host-network';
const RESET = 'reset-umetal.host-network';
const STORAGE = '172.30.77';

/** Whether this kernel can make 802.1Q interfaces (tried in a throwaway namespace). */
function kernelHasVlans(): boolean {
  if (!available) return false;
  const ns = `ustart-vlanprobe-${process.pid}`;
  const ip = (...args: string[]) => spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
  try {
    return (
      ip('netns', 'add', ns) &&
      ip('-n', ns, 'link', 'add', 'a', 'type', 'veth', 'peer', 'name', 'b') &&
      ip('-n', ns, 'link', 'add', 'link', 'a', 'name', 'a.5', 'type', 'vlan', 'id', '5')
    );
  } finally {
    ip('netns', 'del', ns);
  }
}
const vlans = kernelHasVlans();

/**
 * Starts tcpdump on a bridge for one 802.1Q-tagged ICMP frame; resolves once it listens, to
 * a promise of what it printed (it stops after one frame, or after 10 s).
 */
function captureOne(tcpdump: string, bridge: string): Promise<Promise<string>> {
  return new Promise((listening, fail) => {
    const child = spawn(
      'timeout',
      ['10', tcpdump, '-l', '-e', '-n', '-c', '1', '-i', bridge, 'vlan 200 and icmp'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<string>((resolve) => child.once('close', () => resolve(out)));
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) listening(done);
    });
    child.once('error', fail);
    child.once('close', () => listening(done));
  });
}

/** The lab's plan with a storage network carried as `how` says. */
function withStorage(base: Plan, how: 'eth1' | 'vlan-on-eth0'): Plan {
  const plan = structuredClone(base);
  plan.site.osRelease = 'ubuntu-24.04';
  plan.networks.push({
    name: 'storage',
    purpose: 'storage',
    ...(how === 'vlan-on-eth0' ? { vlan: 200 } : {}),
    cidr: `${STORAGE}.0/24`,
    mtu: 9000,
  });
  plan.servers.forEach((s, i) => {
    if (how === 'eth1') {
      s.nics.push({
        name: 'eth1',
        mac: `02:00:00:01:00:${i.toString(16).padStart(2, '0')}`,
        speedGbps: 25,
        network: 'storage',
      });
    } else {
      s.nics[0] = { ...s.nics[0]!, tagged: ['storage'], mtu: 9000, speedGbps: 25 };
    }
    s.addresses.storage = `${STORAGE}.${10 + i}`;
  });
  return Plan.parse(plan);
}

describe.skipIf(!available)('host networking from the plan, on 2 lab hosts', () => {
  let lab: Lab;
  let base: Plan;
  let transport: Ssh2Transport;
  let tmp: string;
  const disposers: (() => unknown)[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-host-network-'));
    lab = await createLab({ hosts: 2, mtu: 9000, secondLink: true });
    const loaded = await loadPlanFile(lab.planPath);
    base = loaded.plan!;
    transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
    });
  }, 60_000);
  afterAll(async () => {
    for (const d of disposers.splice(0)) await d();
    await transport?.dispose();
    await lab?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** Runs one step of the runbook, rendered from `plan`, on every lab host. */
  async function runStep(plan: Plan, id: string) {
    // A two-host lab is no whole site (no compute, no provider network): the rules about how
    // hosts carry their networks and addresses are the ones that must hold.
    const rules = RULES.filter((r) => r.family === 'host-network' || r.family === 'addresses');
    const errors = validatePlan(plan, rules).filter((f) => f.severity === 'error');
    expect(errors, 'the test plan carries its networks validly').toEqual([]);
    const renderer = await Renderer.create(plan, await loadSiteRunbook());
    const phase = id.startsWith('reset-') ? 'reset-umetal' : 'umetal';
    const spec = toStepSpecs(renderer, [phase]).find((s) => s.id === id)!;
    const steps: StepSpec[] = [{ ...spec, after: [] }];
    const engine = new RunEngine({
      transport,
      runsDir: join(tmp, 'runs'),
      steps,
      hosts: new Map(lab.hosts.map((h) => [h.name, lab.target(h.index)])),
      resolveTargets: resolverFromPlan(plan),
      retryDelayMs: () => 0,
      clusterLock: false,
    });
    const events = recordEvents(engine);
    disposers.push(() => events.dispose());
    const result = await engine.run();
    const finished = events.of('host-step-finished');
    const output = finished.map((e) => `${e.host}: ${e.state}\n${events.output(e.stepId, e.host)}`);
    return { result, states: finished.map((e) => e.state), output: output.join('\n') };
  }

  const sh = async (host: number, command: string) => {
    const r = await lab.exec(host, command);
    expect(r.code, `${command}: ${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const ping = (from: number, to: string, size: number) =>
    lab.exec(from, `ping -n -q -M do -s ${size} -c 2 -W 2 ${to}`);

  it(
    'builds the storage link with MTU 9000, persists it, and 9000-byte frames cross',
    { timeout: 60_000 },
    async () => {
      const plan = withStorage(base, 'eth1');
      const first = await runStep(plan, STEP);
      expect(first.result.state, first.output).toBe('succeeded');
      expect(first.states).toEqual(['succeeded', 'succeeded']);
      for (const h of [0, 1]) {
        expect(await sh(h, 'cat /sys/class/net/eth1/mtu')).toBe('9000\n');
        expect(await sh(h, 'ip -o -4 addr show dev eth1')).toContain(
          `inet ${STORAGE}.${10 + h}/24`,
        );
        // The management link is as the lab made it.
        expect(await sh(h, 'ip -o -4 addr show dev eth0')).toContain(lab.hosts[h]!.address);
        expect(await sh(h, 'stat -c %a /etc/netplan/60-ustart.yaml')).toBe('600\n');
      }
      const netplan = await sh(0, 'cat /etc/netplan/60-ustart.yaml');
      expect(netplan).toContain(`addresses: ["${STORAGE}.10/24"]`);
      expect(netplan).toContain('mtu: 9000');
      expect(netplan).not.toContain('eth0');
      // 8972 bytes of ICMP payload + 8 ICMP + 20 IPv4 = 9000: the planned MTU, not fragmented.
      const jumbo = await ping(0, `${STORAGE}.11`, 8972);
      expect(jumbo.code, jumbo.stdout + jumbo.stderr).toBe(0);
      expect(jumbo.stdout).toContain('2 received');
      // One byte more does not fit the planned MTU: the host refuses to send it unfragmented.
      expect((await ping(0, `${STORAGE}.11`, 8973)).code).not.toBe(0);

      const again = await runStep(plan, STEP);
      expect(again.states, again.output).toEqual(['skipped', 'skipped']);
    },
  );

  it('a bridge port left at MTU 1500 drops the planned jumbo frames: the DF probe catches it', async () => {
    const port = `ulab${lab.id}s1`;
    await sh(0, 'true');
    expect(spawnSync('ip', ['link', 'set', port, 'mtu', '1500']).status).toBe(0);
    try {
      expect((await ping(0, `${STORAGE}.11`, 1472)).code).toBe(0);
      const jumbo = await ping(0, `${STORAGE}.11`, 8972);
      expect(jumbo.code).not.toBe(0);
      expect(jumbo.stdout).toContain('0 received');
    } finally {
      spawnSync('ip', ['link', 'set', port, 'mtu', '9000']);
    }
  });

  it('stops before any change when the management link has a smaller MTU than its VLANs need', async () => {
    const plan = withStorage(base, 'vlan-on-eth0');
    await sh(0, 'ip link set dev eth0 mtu 1500');
    try {
      const run = await runStep(plan, STEP);
      expect(run.result.state).toBe('failed');
      expect(run.output).toContain(
        'management interface eth0 has MTU 1500; the networks on it need 9000',
      );
      expect(run.output).toContain('uStart never changes them');
      expect(await sh(0, 'ls /sys/class/net')).not.toContain('eth0.200');
    } finally {
      await sh(0, 'ip link set dev eth0 mtu 9000');
    }
  });

  it(
    'the reset removes the addresses and the file, and runs twice',
    { timeout: 60_000 },
    async () => {
      const plan = withStorage(base, 'eth1');
      const reset = await runStep(plan, RESET);
      expect(reset.result.state, reset.output).toBe('succeeded');
      for (const h of [0, 1]) {
        expect(await sh(h, 'ip -o -4 addr show dev eth1')).toBe('');
        expect(await sh(h, 'ls /etc/netplan 2>/dev/null || true')).not.toContain('60-ustart');
      }
      const twice = await runStep(plan, RESET);
      expect(twice.states, twice.output).toEqual(['skipped', 'skipped']);
    },
  );

  it.skipIf(!vlans)(
    'carries the storage network as VLAN 200 on eth0 with MTU 9000, tagged on the wire',
    { timeout: 60_000 },
    async () => {
      const plan = withStorage(base, 'vlan-on-eth0');
      const run = await runStep(plan, STEP);
      expect(run.result.state, run.output).toBe('succeeded');
      for (const h of [0, 1]) {
        const link = await sh(h, 'ip -d -o link show dev eth0.200');
        expect(link).toContain('vlan protocol 802.1Q id 200');
        expect(link).toContain('mtu 9000');
      }
      const tcpdump = ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].find((p) => existsSync(p));
      const capture = tcpdump ? await captureOne(tcpdump, `ulab${lab.id}br`) : undefined;
      const jumbo = await ping(0, `${STORAGE}.11`, 8972);
      expect(jumbo.code, jumbo.stdout + jumbo.stderr).toBe(0);
      if (capture) {
        // On the lab bridge (the "switch"), the frames carry 802.1Q tag 200.
        expect(await capture).toMatch(/vlan 200/);
      }
      const reset = await runStep(plan, RESET);
      expect(reset.result.state, reset.output).toBe('succeeded');
      expect(await sh(0, 'ls /sys/class/net')).not.toContain('eth0.200');
    },
  );
});
