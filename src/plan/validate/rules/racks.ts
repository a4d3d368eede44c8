/** Rules about racks and where servers sit in them: names, units, power. */
import { pointer } from '../../finding.js';
import type { Server } from '../../schema.js';
import type { IndexedServer, PlanIndex } from '../plan-index.js';
import type { Rule } from '../rule.js';
import { listNames, repeats } from '../names.js';

/** Power estimate per rack unit when a server's `powerW` is not given. */
export const ESTIMATED_WATTS_PER_U = 350;
/** Above this share of the budget a rack has no room for a spike or one more server. */
const POWER_HEADROOM = 0.8;

export const serverWatts = (s: Server) => s.powerW ?? s.units * ESTIMATED_WATTS_PER_U;

interface RackLoad {
  name: string;
  index: number;
  watts: number;
  budget: number;
  estimated: string[];
}

function rackLoads(index: PlanIndex): RackLoad[] {
  const loads: RackLoad[] = [];
  for (const [name, { rack, index: i }] of index.racksByName) {
    const servers = index.serversByRack.get(name) ?? [];
    let watts = 0;
    const estimated: string[] = [];
    for (const { server } of servers) {
      watts += serverWatts(server);
      if (server.powerW === undefined) estimated.push(server.hostname);
    }
    loads.push({ name, index: i, watts, budget: rack.powerKw * 1000, estimated });
  }
  return loads;
}

function describeLoad(load: RackLoad): string {
  const kw = (load.watts / 1000).toFixed(1);
  const est = load.estimated.length
    ? ` (estimated at ${ESTIMATED_WATTS_PER_U} W per U for ${listNames(load.estimated, 3)})`
    : '';
  return `rack ${load.name} draws ${kw} kW of its ${load.budget / 1000} kW budget${est}`;
}

export const rackRules: Rule[] = [
  {
    id: 'rack-name-unique',
    severity: 'error',
    family: 'racks',
    description: 'Every rack has its own name.',
    fix: 'Rename one of the racks as labelled in the datacenter.',
    check({ plan }, report) {
      for (const { item, index, first } of repeats(plan.racks, (r) => r.name)) {
        report(
          pointer('racks', index, 'name'),
          `rack name "${item.name}" is already used by racks[${first}]`,
          'Use the rack labels of the datacenter; each rack needs its own name.',
        );
      }
    },
  },
  {
    id: 'server-rack-known',
    severity: 'error',
    family: 'racks',
    description: 'Every server is mounted in a rack the plan defines.',
    fix: 'Correct servers[].rack, or add the rack to racks[].',
    check({ plan, racksByName }, report) {
      plan.servers.forEach((server, i) => {
        if (!racksByName.has(server.rack)) {
          report(
            pointer('servers', i, 'rack'),
            `server ${server.hostname} is in rack "${server.rack}", which the plan does not define`,
            `Use one of the racks (${[...racksByName.keys()].join(', ') || 'none defined yet'}), or add rack "${server.rack}" with its height and power budget.`,
          );
        }
      });
    },
  },
  {
    id: 'rack-position-range',
    severity: 'error',
    family: 'racks',
    description: 'A server fits inside its rack: position + units − 1 is at most the rack height.',
    fix: 'Correct the position (lowest U) or the height of the server.',
    check({ plan, racksByName }, report) {
      plan.servers.forEach((server, i) => {
        const rack = racksByName.get(server.rack)?.rack;
        if (!rack) return;
        const top = server.position + server.units - 1;
        if (top > rack.units) {
          report(
            pointer('servers', i, 'position'),
            `server ${server.hostname} occupies U${server.position}–U${top}, above the top of rack ${rack.name} (${rack.units} U)`,
            `Mount it at U${Math.max(1, rack.units - server.units + 1)} or lower, or check the rack height.`,
          );
        }
      });
    },
  },
  {
    id: 'rack-unit-overlap',
    severity: 'error',
    family: 'racks',
    description: 'No two servers occupy the same rack unit (multi-U servers included).',
    fix: 'Move one server to free units.',
    check({ serversByRack, racksByName }, report) {
      for (const [name, servers] of serversByRack) {
        if (!racksByName.has(name)) continue;
        const sorted = [...servers].sort(
          (a, b) => a.server.position - b.server.position || a.index - b.index,
        );
        let highest: IndexedServer | undefined;
        for (const cur of sorted) {
          const top = (s: IndexedServer) => s.server.position + s.server.units - 1;
          if (highest && cur.server.position <= top(highest)) {
            const [earlier, later] = highest.index < cur.index ? [highest, cur] : [cur, highest];
            report(
              pointer('servers', later.index, 'position'),
              `server ${later.server.hostname} (U${later.server.position}–U${top(later)}) overlaps server ${earlier.server.hostname} (U${earlier.server.position}–U${top(earlier)}) in rack ${name}`,
              'Two servers cannot share a rack unit; check the positions in the rack elevation.',
            );
          }
          if (!highest || top(cur) > top(highest)) highest = cur;
        }
      }
    },
  },
  {
    id: 'rack-power-budget',
    severity: 'error',
    family: 'racks',
    description: `The servers in a rack draw no more than its power budget (powerW, else ${ESTIMATED_WATTS_PER_U} W per U).`,
    fix: 'Move servers to another rack, or give measured powerW values.',
    check(index, report) {
      for (const load of rackLoads(index)) {
        if (load.watts > load.budget) {
          report(
            pointer('racks', load.index, 'powerKw'),
            describeLoad(load),
            load.estimated.length
              ? "Give powerW from the vendor's power calculator for the estimated servers, or move servers to another rack."
              : 'Move servers to another rack, or ask the datacenter for a larger power budget.',
          );
        }
      }
    },
  },
  {
    id: 'rack-power-headroom',
    severity: 'info',
    family: 'racks',
    description: `A rack keeps ${Math.round((1 - POWER_HEADROOM) * 100)} % of its power budget free for start-up peaks.`,
    fix: 'Spread servers over racks so each stays below 80 % of its budget.',
    check(index, report) {
      for (const load of rackLoads(index)) {
        if (load.watts <= load.budget && load.watts > load.budget * POWER_HEADROOM) {
          report(
            pointer('racks', load.index, 'powerKw'),
            `${describeLoad(load)}, more than ${POWER_HEADROOM * 100} %`,
            'Servers draw more while booting and under load; keep some headroom or move a server.',
          );
        }
      }
    },
  },
  {
    id: 'rack-unused',
    severity: 'info',
    family: 'racks',
    description: 'Every rack holds at least one server.',
    fix: 'Remove the rack from the plan, or place servers in it.',
    check({ plan, serversByRack }, report) {
      plan.racks.forEach((rack, i) => {
        if (!serversByRack.has(rack.name)) {
          report(
            pointer('racks', i),
            `rack ${rack.name} holds no server`,
            'Remove it if it is not part of this site, or place servers in it.',
          );
        }
      });
    },
  },
];
