/** Rules about node roles: how many of each, where they sit, what hardware they need. */
import { pointer } from '../../finding.js';
import { rackQuorums } from '../../quorum.js';
import type { Role, Server } from '../../schema.js';
import type { PlanIndex } from '../plan-index.js';
import type { Rule } from '../rule.js';
import { listNames, plural, repeats } from '../names.js';

/**
 * Capacity floors per role: the least a node of that role needs for the services uStart
 * puts on it. A server with several roles needs the sum. Storage needs grow with its OSD
 * disks: Ceph's `osd_memory_target` is 4 GiB per OSD, and an OSD keeps about one core busy.
 */
export const CAPACITY_FLOORS: Record<
  Role,
  { memoryGiB: number; memoryGiBPerOsd: number; cores: number; coresPerOsd: number }
> = {
  // etcd, the Kubernetes control plane, MariaDB/Galera, RabbitMQ and the OpenStack APIs.
  controller: { memoryGiB: 64, memoryGiBPerOsd: 0, cores: 16, coresPerOsd: 0 },
  // Enough for the host's own services and a useful number of instances.
  compute: { memoryGiB: 128, memoryGiBPerOsd: 0, cores: 16, coresPerOsd: 0 },
  storage: { memoryGiB: 16, memoryGiBPerOsd: 4, cores: 4, coresPerOsd: 1 },
};

export const physicalCores = (s: Server) => s.cpu.sockets * s.cpu.cores;

function floorOf(s: Server, osds: number): { memoryGiB: number; cores: number } {
  let memoryGiB = 0;
  let cores = 0;
  for (const role of new Set(s.roles)) {
    const f = CAPACITY_FLOORS[role];
    memoryGiB += f.memoryGiB + f.memoryGiBPerOsd * osds;
    cores += f.cores + f.coresPerOsd * osds;
  }
  return { memoryGiB, cores };
}

/** Racks holding at least one server, among the racks the plan defines. */
const occupiedRacks = (index: PlanIndex) =>
  [...index.serversByRack.keys()].filter((name) => index.racksByName.has(name));

/** Controllers per rack name. */
function controllersPerRack(index: PlanIndex): Map<string, string[]> {
  const per = new Map<string, string[]>();
  for (const { server } of index.byRole.controller) {
    const list = per.get(server.rack) ?? [];
    list.push(server.hostname);
    per.set(server.rack, list);
  }
  return per;
}

const rolesPath = (index: PlanIndex, role: Role) =>
  index.byRole[role][0]
    ? pointer('servers', index.byRole[role][0].index, 'roles')
    : pointer('servers');

/** A capacity floor rule: memory or physical cores against the sum of the server's roles. */
function floorRule(resource: 'memory' | 'cores'): Rule {
  const memory = resource === 'memory';
  return {
    id: memory ? 'role-memory-floor' : 'role-core-floor',
    severity: 'warning',
    family: 'roles',
    description: `A server has at least the ${memory ? 'memory' : 'physical cores'} its roles need (see the capacity floors below; several roles add up).`,
    fix: memory
      ? 'Add memory, or move a role to a larger server.'
      : 'Use a server with more cores, or move a role.',
    check({ plan, disks }, report) {
      plan.servers.forEach((s, i) => {
        if (s.roles.length === 0) return;
        const osds = disks[i]!.osd.length;
        const floor = floorOf(s, osds);
        const [have, need, unit] = memory
          ? [s.memoryGiB, floor.memoryGiB, ' GiB of memory']
          : [physicalCores(s), floor.cores, ' physical cores'];
        if (have >= need) return;
        report(
          memory ? pointer('servers', i, 'memoryGiB') : pointer('servers', i, 'cpu', 'cores'),
          `server ${s.hostname} has ${have}${unit}; as ${s.roles.join(' + ')}${osds ? ` with ${plural(osds, 'OSD')}` : ''} it needs at least ${need}`,
          `${memory ? 'Add memory' : 'Use a server with more cores'}, or move a role to another server; see docs/validation-rules.md for the floors.`,
        );
      });
    },
  };
}

export const roleRules: Rule[] = [
  {
    id: 'server-no-roles',
    severity: 'info',
    family: 'roles',
    description: 'A server without roles is planned but gets nothing installed.',
    fix: 'Give it roles (controller, compute, storage), or leave it as a spare on purpose.',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        if (s.roles.length === 0) {
          report(
            pointer('servers', i, 'roles'),
            `server ${s.hostname} has no roles: nothing will be installed on it`,
            'Add roles if it is meant to be used; a spare may stay without.',
          );
        }
      });
    },
  },
  {
    id: 'role-duplicate',
    severity: 'warning',
    family: 'roles',
    description: 'A server lists each role once.',
    fix: 'Remove the repeated role.',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        for (const { item, index } of repeats(s.roles, (role) => role)) {
          report(
            pointer('servers', i, 'roles', index),
            `server ${s.hostname} lists role ${item} twice`,
            'Remove the repeated role.',
          );
        }
      });
    },
  },
  {
    id: 'controller-count-min',
    severity: 'error',
    family: 'roles',
    description: 'The plan has at least one controller.',
    fix: 'Give one server (three in production) the controller role.',
    check(index, report) {
      if (index.byRole.controller.length === 0) {
        report(
          pointer('servers'),
          'no server has the controller role: there is nowhere to run Kubernetes and the OpenStack control plane',
          'Give three servers (one for a small PoC) the controller role.',
        );
      }
    },
  },
  {
    id: 'controller-count-odd',
    severity: 'warning',
    family: 'roles',
    description:
      'The number of controllers is odd: etcd and Galera need a majority to keep working.',
    fix: 'Use 3 or 5 controllers.',
    check(index, report) {
      const n = index.byRole.controller.length;
      if (n > 0 && n % 2 === 0) {
        report(
          rolesPath(index, 'controller'),
          `the plan has ${n} controllers; an even number tolerates no more failures than ${n - 1} and can split evenly`,
          `Use ${n - 1} or ${n + 1} controllers.`,
        );
      }
    },
  },
  {
    id: 'controller-count-production',
    severity: 'error',
    family: 'roles',
    description: 'A production site has at least three controllers, so one can fail.',
    fix: 'Give three servers the controller role.',
    check(index, report) {
      const n = index.byRole.controller.length;
      if (index.production && n > 0 && n < 3) {
        report(
          rolesPath(index, 'controller'),
          `this production site has ${plural(n, 'controller')}; losing one stops the control plane`,
          'Use three controllers (on three racks where possible), or set site.environment to poc.',
        );
      }
    },
  },
  {
    id: 'controller-count-large',
    severity: 'info',
    family: 'roles',
    description:
      'More than five controllers slow etcd and Galera writes without adding resilience that matters.',
    fix: 'Use 3 or 5 controllers; give the others compute or storage roles.',
    check(index, report) {
      const n = index.byRole.controller.length;
      if (n > 5) {
        report(
          rolesPath(index, 'controller'),
          `the plan has ${n} controllers; every write to etcd and Galera waits for a majority of them`,
          'Five controllers survive two failures; use the other servers for compute or storage.',
        );
      }
    },
  },
  {
    id: 'controller-spread',
    severity: 'warning',
    family: 'roles',
    description: 'When servers sit in several racks, the controllers are not all in one rack.',
    fix: 'Move controllers so they stand in different racks.',
    check(index, report) {
      const per = controllersPerRack(index);
      if (index.byRole.controller.length < 2 || per.size !== 1) return;
      const racks = occupiedRacks(index);
      if (racks.length < 2) return;
      const [rack] = per.keys();
      report(
        rolesPath(index, 'controller'),
        `all ${index.byRole.controller.length} controllers are in rack ${rack}; a power or switch failure there stops the control plane`,
        `Place controllers in different racks (the plan uses ${listNames(racks)}).`,
      );
    },
  },
  {
    id: 'rack-loss-quorum',
    severity: 'warning',
    family: 'roles',
    description:
      'When servers sit in several racks, losing any one rack leaves a majority of the controllers (etcd) and, at worst, of the Ceph monitors (one per controller, at most 3). All controllers in one rack is `controller-spread`.',
    fix: 'Place the controllers one per rack; with fewer racks than controllers, add a rack or acknowledge the warning with the reason.',
    check(index, report) {
      const n = index.byRole.controller.length;
      const per = controllersPerRack(index);
      const racks = occupiedRacks(index);
      // One rack in use: nothing to spread over. All controllers in one rack: controller-spread.
      if (n < 2 || racks.length < 2 || per.size < 2) return;
      const servers = index.byRole.controller.map((c) => c.server);
      for (const q of rackQuorums(servers, [...per.keys()])) {
        if (q.etcdKept && q.monsKept) continue;
        const first = index.byRole.controller.find((c) => c.server.rack === q.rack)!;
        const holds = `it holds ${listNames(q.controllers)}, ${q.controllers.length} of the ${n} controllers`;
        const etcd = `etcd needs ${Math.floor(n / 2) + 1} of ${n}`;
        const monNeed = Math.floor(q.mons / 2) + 1;
        const mons =
          n > q.mons
            ? `it can hold ${q.monsAtRisk} of the ${q.mons} Ceph monitors (the scheduler picks their controllers), which need ${monNeed}`
            : `the Ceph monitors need ${monNeed} of ${q.mons}`;
        const what = q.etcdKept ? 'can stop Ceph' : 'stops the control plane';
        report(
          pointer('servers', first.index, 'rack'),
          `losing rack ${q.rack} ${what}: ${holds}; ${q.etcdKept ? mons : `${etcd}, ${mons}`}`,
          n < 3
            ? 'Use three controllers, each in its own rack.'
            : `Place the controllers one per rack${racks.length < n ? ` (${n} controllers, ${plural(racks.length, 'rack')} with servers: add a rack, or acknowledge this warning with the reason)` : ''}.`,
        );
      }
    },
  },
  {
    id: 'compute-count-min',
    severity: 'error',
    family: 'roles',
    description: 'The plan has at least one compute server to run instances.',
    fix: 'Give at least one server the compute role.',
    check(index, report) {
      if (index.byRole.compute.length === 0) {
        report(
          pointer('servers'),
          'no server has the compute role: OpenStack will have nowhere to run instances',
          'Give at least one server (two or more in production) the compute role.',
        );
      }
    },
  },
  {
    id: 'compute-count-production',
    severity: 'warning',
    family: 'roles',
    description:
      'A production site has at least two compute servers, so instances can move during maintenance.',
    fix: 'Add a second compute server.',
    check(index, report) {
      if (index.production && index.byRole.compute.length === 1) {
        report(
          rolesPath(index, 'compute'),
          'this production site has a single compute server; patching it means stopping every instance',
          'Add a second compute server so instances can be live-migrated.',
        );
      }
    },
  },
  {
    id: 'role-hyperconverged',
    severity: 'warning',
    family: 'roles',
    description:
      'In production, controllers are not also compute servers (instances would starve the control plane).',
    fix: 'Keep controller and compute roles on separate servers.',
    check({ plan, production }, report) {
      if (!production) return;
      plan.servers.forEach((s, i) => {
        if (s.roles.includes('controller') && s.roles.includes('compute')) {
          report(
            pointer('servers', i, 'roles'),
            `server ${s.hostname} is both controller and compute; a busy instance can starve etcd and the APIs`,
            'Remove one of the roles, or acknowledge the warning with the reason (for example a small edge site).',
          );
        }
      });
    },
  },
  floorRule('memory'),
  floorRule('cores'),
];
