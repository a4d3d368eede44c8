import { describe, expect, it } from 'vitest';
import { loadPlanFile } from '../plan/index.js';
import { DISCOVERED_FIELDS, sameDiscoveredFields } from '../plan/discovered.js';
import type { Server } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import { applyDiscoveries, proposeServer, type ServerDiscovery } from './discover.js';
import type { BmcInventory } from './inventory.js';

const INVENTORY: BmcInventory = {
  address: '10.0.0.1',
  manufacturer: 'Lenovo',
  model: 'ThinkSystem SR650 V3',
  processors: [
    { id: 'CPU1', model: 'Intel Xeon Gold 6430', cores: 32, threads: 64 },
    { id: 'CPU2', model: 'Intel Xeon Gold 6430', cores: 32, threads: 64 },
  ],
  memoryGiB: 1024,
  nics: [{ id: 'NIC9', mac: '02:00:00:00:09:09', speedMbps: 100000 }],
  drives: [{ id: 'D9', capacityBytes: 7.68e12, mediaType: 'SSD', protocol: 'NVMe' }],
};

async function demoPlan() {
  const loaded = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
  if (!loaded.plan) throw new Error('the demo plan did not load');
  return loaded.plan;
}

/** The keys whose values differ between two servers. */
function changedKeys(a: Server, b: Server): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter(
    (k) => JSON.stringify(a[k as keyof Server]) !== JSON.stringify(b[k as keyof Server]),
  );
}

describe('discovered fields', () => {
  it('a proposal changes nothing but the discovered fields', async () => {
    const plan = await demoPlan();
    const server = plan.servers[0]!;
    const { proposed, changes } = proposeServer(server, INVENTORY);
    const changed = changedKeys(server, proposed);
    expect(changes.length).toBeGreaterThan(0);
    expect(changed.length).toBeGreaterThan(3);
    for (const k of changed) expect(DISCOVERED_FIELDS as readonly string[]).toContain(k);
  });

  it('accepting a discovery keeps what the consultant edited after the BMCs were read', async () => {
    const plan = await demoPlan();
    const server = plan.servers[0]!;
    const { proposed, changes } = proposeServer(server, INVENTORY);
    const discoveries: ServerDiscovery[] = [
      { hostname: server.hostname, status: 'read', changes, proposed, inventory: INVENTORY },
    ];
    // Edited meanwhile: a role dropped, a note written, the first disk's use and the first
    // NIC's name changed.
    const edited = structuredClone(plan);
    edited.servers[0]!.roles = server.roles.slice(1);
    edited.servers[0]!.notes = 'moved to row B';
    edited.servers[0]!.disks[0]!.use = 'none';
    edited.servers[0]!.nics[0]!.name = 'eno9';

    const result = applyDiscoveries(edited, discoveries, 'all');
    const after = result.servers[0]!;
    expect(after.roles).toEqual(server.roles.slice(1));
    expect(after.notes).toBe('moved to row B');
    expect(after.memoryGiB).toBe(1024);
    expect(after.model).toBe('ThinkSystem SR650 V3');
    expect(after.cpu.cores).toBe(32);
    // The hardware the BMC read, merged into the NICs and disks as they are now.
    expect(after.disks[0]!.use).toBe('none');
    expect(after.disks[0]!.sizeGB).toBe(proposed.disks[0]!.sizeGB);
    expect(after.nics[0]!.name).toBe('eno9');
    expect(after.nics.map((n) => n.mac)).toEqual(proposed.nics.map((n) => n.mac));
    // The other servers are the same objects; the input plan is not changed.
    expect(result.servers[1]).toBe(edited.servers[1]);
    expect(edited.servers[0]!.memoryGiB).toBe(server.memoryGiB);
  });

  it('a server that was not accepted stays as it is', async () => {
    const plan = await demoPlan();
    const server = plan.servers[0]!;
    const { proposed, changes } = proposeServer(server, INVENTORY);
    const result = applyDiscoveries(
      plan,
      [{ hostname: server.hostname, status: 'read', changes, proposed }],
      new Set(['someone-else']),
    );
    expect(result.servers[0]).toBe(plan.servers[0]);
  });

  it('tells a server whose hardware fields were edited since the read (the wizard then refuses)', async () => {
    const plan = await demoPlan();
    const then = plan.servers[0]!;
    const now = structuredClone(then);
    now.roles = [];
    now.notes = 'edited';
    expect(sameDiscoveredFields(then, now)).toBe(true);
    now.disks[0]!.use = 'none';
    expect(sameDiscoveredFields(then, now)).toBe(false);
  });
});
