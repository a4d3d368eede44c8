/**
 * The connect phase of the default runbook run by the real engine on lab hosts: real facts
 * from each host, a network matrix from real pings between the hosts (on the lab bridge),
 * and the preflight finding for the one host whose planned MAC is wrong.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEngine, resolverFromPlan } from '../../src/engine/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import { HostFacts, NetcheckResult } from '../../src/runbook/facts.js';
import { networkMatrix } from '../../src/runbook/netmatrix.js';
import { preflight } from '../../src/runbook/preflight.js';
import { stepSpecsFor } from '../../src/render/step-specs.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';

const available = labAvailable();

describe.skipIf(!available)('connect phase on lab hosts', () => {
  let lab: Lab;
  let tmp: string;
  let plan: Plan;
  const disposers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-connect-lab-'));
    lab = await createLab({ hosts: 4 });
    plan = (await loadPlanFile(lab.planPath)).plan!;
    // The plan gets each host's real NIC name and MAC, except host 2, whose MAC is wrong.
    for (const h of lab.hosts) {
      const links = JSON.parse((await lab.exec(h, 'ip -j link show')).stdout) as Array<{
        ifname: string;
        address?: string;
        link_type?: string;
      }>;
      const nic = links.find((l) => l.link_type === 'ether')!;
      expect(nic, `an Ethernet link on ${h.name}`).toBeDefined();
      const server = plan.servers.find((s) => s.hostname === h.name)!;
      server.nics[0] = {
        ...server.nics[0]!,
        name: nic.ifname,
        mac: h.index === 2 ? '02:ba:d0:00:00:02' : nic.address!,
      };
    }
  });
  afterAll(async () => {
    for (const d of disposers.splice(0)) await d();
    await lab?.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  it(
    'gathers real facts, measures every pair and finds the wrong MAC',
    { timeout: 240_000 },
    async () => {
      const transport = new Ssh2Transport({
        knownHosts: new KnownHosts(lab.knownHostsPath),
        agentSocket: null,
        identityFiles: [lab.clientKeyPath],
      });
      disposers.push(() => transport.dispose());
      const from = Date.now();
      const result = await new RunEngine({
        transport,
        runsDir: join(tmp, 'runs'),
        steps: await stepSpecsFor(plan, { phases: ['connect'] }),
        hosts: new Map(lab.hosts.map((h) => [h.name, lab.target(h.index)])),
        resolveTargets: resolverFromPlan(plan),
        clusterLock: false,
      }).run();
      const to = Date.now();
      expect(result.state).toBe('succeeded');

      const gathered = new Map();
      const probes = [];
      for (const h of lab.hosts) {
        const facts = HostFacts.parse(
          JSON.parse((await lab.exec(h, 'cat /var/lib/ustart/out/facts.json')).stdout),
        );
        expect(facts.hostname).toBe(h.name);
        gathered.set(h.name, { facts, window: { from, to } });
        probes.push(
          NetcheckResult.parse(
            JSON.parse((await lab.exec(h, 'cat /var/lib/ustart/out/netcheck.json')).stdout),
          ),
        );
      }

      const findings = preflight(plan, gathered);
      const macs = findings.filter((f) => f.rule === 'facts-mac-differs');
      expect(macs.map((f) => f.path)).toEqual(['/servers/2/nics/0/mac']);
      expect(macs[0]!.message).toContain('the plan says 02:ba:d0:00:00:02');
      expect(findings.filter((f) => f.rule === 'facts-clock-skew')).toEqual([]);

      const matrix = networkMatrix(plan, probes);
      const cells = matrix.networks.mgmt!;
      expect(cells).toHaveLength(4 * 3);
      expect(cells.every((c) => c.lossPercent === 0 && c.mtuOk === true && c.ok)).toBe(true);
      expect(matrix.findings).toEqual([]);
    },
  );
});
