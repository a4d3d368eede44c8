/**
 * The connect phase of the default runbook run by the real engine on lab hosts: real facts
 * from each host, a network matrix from real pings between the hosts (on the lab bridge),
 * and the preflight findings the lab is set up to cause: a wrong planned MAC, two hosts
 * cloned with one machine-id, a public VIP already taken by a host that is no controller
 * (while the API VIP is held by a controller, as kube-vip does after an install), and a
 * planned OSD disk with a file system on it (a loop device, beside an empty one).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEngine, resolverFromPlan } from '../../src/engine/index.js';
import { endpointRecords } from '../../src/plan/endpoints.js';
import { loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import { HostFacts, NetcheckResult } from '../../src/runbook/fact-schemas.js';
import { networkMatrix } from '../../src/runbook/netmatrix.js';
import { preflight } from '../../src/runbook/preflight.js';
import { stepSpecsFor } from '../../src/render/step-specs.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { mustRun, runCommand } from '../lab/run.js';

const available = labAvailable();

describe.skipIf(!available)('connect phase on lab hosts', () => {
  let lab: Lab;
  let tmp: string;
  let plan: Plan;
  const disposers: (() => Promise<unknown>)[] = [];
  /** Loop devices standing in for OSD disks: [with an ext4 file system, empty]. */
  const loops: string[] = [];
  const realMacs = new Map<number, string>();

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
      realMacs.set(h.index, nic.address!);
      // Lab hosts share the machine's /etc/machine-id (their root is an overlay of it): each
      // gets its own, except hosts 1 and 3, cloned from one image.
      const id = 'abcb'[h.index]!.repeat(32);
      await lab.exec(h, `printf '%s\\n' ${id} > /etc/machine-id`);
    }
    // The API VIP on controller host 0 (kube-vip after an install), the public VIP on host
    // 3, a compute host: that one is taken.
    const [h0, , , h3] = lab.hosts;
    await mustRun('ip', [
      '-n',
      h0!.netns,
      'addr',
      'add',
      `${plan.kubernetes.controlPlaneVip}/32`,
      'dev',
      plan.servers[0]!.nics[0]!.name,
    ]);
    await mustRun('ip', [
      '-n',
      h3!.netns,
      'addr',
      'add',
      `${plan.openstack.publicVip}/32`,
      'dev',
      plan.servers[3]!.nics[0]!.name,
    ]);
    // The endpoint names are checked as the customer's DNS would serve them (site-dns). The
    // lab has no DNS: host 0 carries every name in its own /etc/hosts (what getent finds
    // first), host 1 only keystone, on a wrong address; hosts 2 and 3 resolve none.
    plan.openstack.endpointDns = 'site-dns';
    const [e0, e1] = lab.hosts;
    const lines = endpointRecords(plan).map((r) => `${r.address} ${r.name}`);
    await lab.exec(e0!, `printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} >> /etc/hosts`);
    await lab.exec(e1!, `printf '192.0.2.77 keystone.%s\\n' ${plan.site.domain} >> /etc/hosts`);
    // Two OSD disks for host 3: loop devices are the machine's, so afterAll detaches them.
    for (const withFs of [true, false]) {
      const file = join(tmp, `osd-${loops.length}.img`);
      await mustRun('truncate', ['-s', '64M', file]);
      const dev = (await mustRun('losetup', ['--find', '--show', file])).trim();
      loops.push(dev);
      if (withFs) await mustRun('mkfs.ext4', ['-q', dev]);
      plan.servers[3]!.disks.push({ device: dev, sizeGB: 0.06, type: 'ssd', use: 'ceph-osd' });
    }
  });
  afterAll(async () => {
    for (const dev of loops) await runCommand('losetup', ['-d', dev]);
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

      // The cloned pair, and nobody else.
      expect(
        findings.filter((f) => f.rule === 'preflight-machine-id-duplicate').map((f) => f.path),
      ).toEqual(['/servers/1', '/servers/3']);
      for (const h of lab.hosts) {
        expect(gathered.get(h.name).facts.machineId).toBe('abcb'[h.index]!.repeat(32));
      }

      // The public VIP is seen from the controllers with host 3's real MAC, and host 3 says
      // it holds it; the API VIP, held by controller host 0, passes.
      const vips = findings.filter((f) => f.rule === 'preflight-vip-in-use');
      expect(vips.map((f) => [f.path, f.message])).toEqual([
        [
          '/openstack/publicVip',
          `openstack.publicVip ${plan.openstack.publicVip} is taken: it answers from MAC ${realMacs.get(3)} (seen from host-0, host-1, host-2), which is no planned controller`.replace(
            /host-(\d)/g,
            (_, i: string) => lab.hosts[Number(i)]!.name,
          ),
        ],
        [
          '/openstack/publicVip',
          `openstack.publicVip ${plan.openstack.publicVip} is taken: it is configured on ${lab.hosts[3]!.name} itself (seen from ${lab.hosts[3]!.name}), which is no planned controller`,
        ],
      ]);
      const apiSeen = gathered.get(lab.hosts[1]!.name).facts.vips[0];
      expect(apiSeen).toMatchObject({
        name: 'controlPlaneVip',
        onLink: true,
        answers: true,
        mac: realMacs.get(0),
      });

      // The OSD disk with ext4 is flagged, the empty one is not.
      const osd = findings.filter((f) => f.rule === 'preflight-osd-disk-not-empty');
      expect(osd.map((f) => [f.path, f.message])).toEqual([
        [
          '/servers/3/disks/1/device',
          `${lab.hosts[3]!.name}: planned Ceph OSD disk ${loops[0]} is not empty: signatures ext4`,
        ],
      ]);
      expect(gathered.get(lab.hosts[3]!.name).facts.osdDisks).toEqual([
        { device: loops[0], present: true, children: [], signatures: ['ext4'] },
        { device: loops[1], present: true, children: [], signatures: [] },
      ]);

      // What the lab hosts are, read on them, is what the preflight judged.
      for (const h of lab.hosts) {
        const facts = gathered.get(h.name).facts as HostFacts;
        const cgroup = (await lab.exec(h, 'stat -fc %T /sys/fs/cgroup/')).stdout.trim();
        expect(facts.cgroupFs).toBe(cgroup);
        const mine = findings.filter((f) => f.message.startsWith(`${h.name}: `));
        expect(mine.some((f) => f.rule === 'preflight-cgroup-v1')).toBe(cgroup === 'tmpfs');
        // The lab's own root is an overlay, so this kernel has overlay.
        expect(['loaded', 'builtin']).toContain(facts.kernelModules!.overlay);
        expect(facts.swap!.activeKiB).toBe(
          Number(/^SwapTotal:\s+(\d+)/m.exec((await lab.exec(h, 'cat /proc/meminfo')).stdout)![1]),
        );
      }

      // Endpoint names: host 0 resolves them all to the public VIP through /etc/hosts and
      // passes; the others fail, host 1 with keystone on its wrong address.
      const vipAddr = plan.openstack.publicVip;
      const names = endpointRecords(plan).map((r) => r.name);
      const dns = findings.filter((f) => f.rule === 'preflight-endpoint-dns');
      expect(dns.map((f) => f.message.split(':')[0])).toEqual(
        lab.hosts.slice(1).map((h) => h.name),
      );
      expect(gathered.get(lab.hosts[0]!.name).facts.endpointNames).toEqual(
        names.map((name) => ({ name, addresses: [vipAddr] })),
      );
      expect(dns[0]!.message).toContain(`keystone.${plan.site.domain} resolves to 192.0.2.77`);
      for (const f of dns) {
        expect(f.path).toBe('/openstack/endpointDns');
        expect(f.message).toContain(`resolve to openstack.publicVip ${vipAddr}`);
        expect(f.hint).toContain(`horizon.${plan.site.domain} → ${vipAddr}`);
      }
      for (const h of lab.hosts.slice(2)) {
        const seen = (gathered.get(h.name).facts as HostFacts).endpointNames!;
        expect(seen.map((n) => [n.name, n.addresses])).toEqual(names.map((n) => [n, []]));
      }

      const matrix = networkMatrix(plan, probes);
      const cells = matrix.networks.mgmt!;
      expect(cells).toHaveLength(4 * 3);
      expect(cells.every((c) => c.lossPercent === 0 && c.mtuOk === true && c.ok)).toBe(true);
      expect(matrix.findings).toEqual([]);
    },
  );
});
