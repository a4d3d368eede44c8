/** Lookups built once per validation run and shared by every rule. */
import { type Cidr, parseCidr, parseIpv4 } from '../ipv4.js';
import type { Network, Plan, Rack, Role, Server } from '../schema.js';

export interface IndexedNetwork {
  network: Network;
  index: number;
  cidr: Cidr | undefined;
}

export interface PlanIndex {
  plan: Plan;
  networksByName: Map<string, IndexedNetwork>;
  racksByName: Map<string, { rack: Rack; index: number }>;
  /** Servers with their position in `servers[]`, grouped by role. */
  byRole: Record<Role, Array<{ server: Server; index: number }>>;
  production: boolean;
  /** The first network of each purpose. */
  networkOfPurpose(purpose: Network['purpose']): IndexedNetwork | undefined;
  ip(text: string): number | undefined;
}

export function indexPlan(plan: Plan): PlanIndex {
  const networksByName = new Map<string, IndexedNetwork>();
  plan.networks.forEach((network, index) => {
    if (!networksByName.has(network.name)) {
      networksByName.set(network.name, { network, index, cidr: parseCidr(network.cidr) });
    }
  });
  const racksByName = new Map<string, { rack: Rack; index: number }>();
  plan.racks.forEach((rack, index) => {
    if (!racksByName.has(rack.name)) racksByName.set(rack.name, { rack, index });
  });
  const byRole: PlanIndex['byRole'] = { controller: [], compute: [], storage: [] };
  plan.servers.forEach((server, index) => {
    for (const role of new Set(server.roles)) byRole[role].push({ server, index });
  });
  const ipCache = new Map<string, number | undefined>();
  return {
    plan,
    networksByName,
    racksByName,
    byRole,
    production: plan.site.environment === 'production',
    networkOfPurpose: (purpose) =>
      [...networksByName.values()].find((n) => n.network.purpose === purpose),
    ip(text) {
      if (!ipCache.has(text)) ipCache.set(text, parseIpv4(text));
      return ipCache.get(text);
    },
  };
}
