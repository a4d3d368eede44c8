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
 *   changes the management link).
 *
 * 802.1Q VLANs and bonds are not here: this machine's kernel (and CI's) is built without them
 * and without loadable modules. host-network-vlan-qemu.test.ts proves them in two QEMU guests
 * running Debian's kernel: the step's VLAN 200 at MTU 9000, tagged jumbo frames on the wire,
 * a wrong VLAN getting no reply, an active-backup bond carrying the VLAN and failing over.
 *
 * The plan's OS is ubuntu-24.04: the persisted file is netplan's, which needs no package
 * (Debian's ifupdown would be installed from the bundle; its file is unit-tested by the
 * render). netplan itself is not on this machine, so `netplan generate` is not run here.
 */
import { spawnSync } from 'node:child_process';
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
});
