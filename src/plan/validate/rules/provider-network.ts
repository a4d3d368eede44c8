/**
 * Rules about the provider network as OpenStack uses it: every compute server's uplink for
 * OVN's provider bridge (docs/ustack-provider-network.md), and the range Neutron hands out on
 * it (`openstack.externalNetwork`).
 */
import { pointer } from '../../finding.js';
import { providerUplink } from '../../host-links.js';
import { formatIpv4, isNetworkOrBroadcast } from '../../ipv4.js';
import type { Rule } from '../rule.js';

export const providerUplinkRules: Rule[] = [
  {
    id: 'compute-provider-uplink',
    severity: 'error',
    family: 'host-network',
    description:
      'Every compute server carries the provider network on a NIC or bond (untagged or tagged): OVN bridges it there.',
    fix: 'Give a NIC or bond of the server `network: <provider>` or `tagged: [<provider>]`.',
    check({ plan, byRole, networkOfPurpose }, report) {
      const provider = networkOfPurpose('provider')?.network;
      if (!provider) return;
      for (const { server, index } of byRole.compute) {
        if (providerUplink(plan, server)) continue;
        // Carried tagged on a network without a VLAN id: tagged-network-vlan reports it.
        const tagged = [...server.nics, ...(server.bonds ?? [])].some((c) =>
          (c.tagged ?? []).includes(provider.name),
        );
        if (tagged) continue;
        report(
          pointer('servers', index, 'nics'),
          `compute server ${server.hostname} has no interface on the provider network "${provider.name}": OVN has no uplink for its provider bridge there, so instances on ${server.hostname} cannot reach the provider network`,
          `Give a NIC or bond of ${server.hostname} \`network: ${provider.name}\` (the switch port carries it untagged) or \`tagged: [${provider.name}]\` (as VLAN ${provider.vlan ?? '<its vlan id>'}); uStart brings that interface up without an address and OVN takes it over.`,
        );
      }
    },
  },
  {
    id: 'compute-provider-no-address',
    severity: 'error',
    family: 'host-network',
    description:
      "A compute server has no address on the provider network: its interface there is a port of OVN's provider bridge.",
    fix: "Remove the server's address on the provider network.",
    check({ plan, byRole, networkOfPurpose }, report) {
      const provider = networkOfPurpose('provider')?.network;
      if (!provider) return;
      for (const { server, index } of byRole.compute) {
        const address = server.addresses[provider.name];
        if (address === undefined) continue;
        const uplink = providerUplink(plan, server)?.name;
        report(
          pointer('servers', index, 'addresses', provider.name),
          `compute server ${server.hostname} has address ${address} on the provider network "${provider.name}", but ${uplink ? `its interface there (${uplink})` : 'its interface there'} is taken over by OVN's provider bridge, where an address does not work`,
          server.roles.includes('controller')
            ? `Remove servers[${index}].addresses.${provider.name}. A server that needs an address on the provider network (a controller announcing the public VIP there) cannot also be a compute server: split the roles, or put openstack.publicVip on the management network.`
            : `Remove servers[${index}].addresses.${provider.name}; IPAM gives compute servers no address on the provider network.`,
        );
      }
    },
  },
];

export const externalNetworkRules: Rule[] = [
  {
    id: 'openstack-external-network',
    severity: 'info',
    family: 'openstack',
    description:
      'The plan says which addresses of the provider network Neutron hands out (openstack.externalNetwork).',
    fix: 'Add openstack.externalNetwork with a floatingRange of the provider network.',
    check({ plan, networkOfPurpose }, report) {
      const provider = networkOfPurpose('provider')?.network;
      if (!provider || plan.openstack.externalNetwork) return;
      report(
        pointer('openstack'),
        `openstack.externalNetwork is not set: uStart creates no Neutron network on the provider network "${provider.name}", so instances get no floating IPs until someone creates one`,
        `Add openstack.externalNetwork.floatingRange (start, end): free addresses of ${provider.cidr} outside its pool, and router: true for a router with its gateway there.`,
      );
    },
  },
  {
    id: 'external-network-range',
    severity: 'error',
    family: 'openstack',
    description:
      "The floating range lies inside the provider network's CIDR, ascending, without its network or broadcast address.",
    fix: 'Choose start and end inside the provider network, start first.',
    check({ plan, networkOfPurpose, ip }, report) {
      const range = plan.openstack.externalNetwork?.floatingRange;
      const provider = networkOfPurpose('provider');
      if (!range || !provider?.cidr) return;
      const path = pointer('openstack', 'externalNetwork', 'floatingRange');
      const cidr = provider.cidr;
      for (const end of ['start', 'end'] as const) {
        const a = ip(range[end]);
        if (a === undefined) continue;
        // Neutron takes a pool's addresses from the subnet's usable ones only
        // (docs/upstream-facts.md#neutron-allocation-pool-in-cidr).
        if (a < cidr.network || a > cidr.last || isNetworkOrBroadcast(cidr, a)) {
          report(
            `${path}/${end}`,
            `the floating range's ${end} ${range[end]} is not a usable address of the provider network "${provider.network.name}" (${provider.network.cidr}); Neutron refuses such an allocation pool`,
            `Choose an address between ${formatIpv4(cidr.network + 1)} and ${formatIpv4(cidr.last - 1)}.`,
          );
        }
      }
      const [s, e] = [ip(range.start), ip(range.end)];
      if (s !== undefined && e !== undefined && s > e) {
        report(
          path,
          `the floating range starts at ${range.start}, after its end ${range.end}`,
          'Swap start and end: the range is inclusive, lowest address first.',
        );
      }
    },
  },
  {
    id: 'external-network-range-free',
    severity: 'error',
    family: 'openstack',
    description:
      "The floating range holds none of the provider network's pool, gateway, the VIPs or any server's address.",
    fix: 'Move the range to addresses nothing else on the provider network uses.',
    check({ plan, networkOfPurpose, ip, vips, addresses }, report) {
      const range = plan.openstack.externalNetwork?.floatingRange;
      const provider = networkOfPurpose('provider');
      if (!range || !provider) return;
      const [s, e] = [ip(range.start), ip(range.end)];
      if (s === undefined || e === undefined || s > e) return;
      const path = pointer('openstack', 'externalNetwork', 'floatingRange');
      const inRange = (a: number | undefined) => a !== undefined && a >= s && a <= e;
      const taken: string[] = [];
      const { poolStart, poolEnd, gateway } = provider;
      if (poolStart !== undefined && poolEnd !== undefined && poolStart <= e && poolEnd >= s) {
        taken.push(
          `the pool of "${provider.network.name}" (${provider.network.pool!.start}–${provider.network.pool!.end}), from which IPAM gives servers their addresses`,
        );
      }
      // Neutron refuses a gateway inside an allocation pool
      // (docs/upstream-facts.md#neutron-gateway-outside-pool).
      if (inRange(gateway)) taken.push(`the gateway ${provider.network.gateway}`);
      for (const v of vips) if (inRange(v.ip)) taken.push(`${v.label} ${v.text}`);
      for (const a of addresses) {
        if (inRange(a.ip)) {
          taken.push(
            `${a.kind === 'bmc' ? 'the BMC address' : 'the address'} of ${a.hostname} (${a.text})`,
          );
        }
      }
      if (taken.length === 0) return;
      report(
        path,
        `the floating range ${range.start}–${range.end} holds ${taken.slice(0, 5).join(', ')}${taken.length > 5 ? ` and ${taken.length - 5} more` : ''}: Neutron would hand these out to instances and routers`,
        `Choose a range of ${provider.network.cidr} that nothing else uses, such as the addresses above the pool.`,
      );
    },
  },
  {
    id: 'external-network-router-gateway',
    severity: 'warning',
    family: 'openstack',
    description:
      'A router on the provider network has a gateway to route to (the network has one).',
    fix: 'Set the provider network gateway, or leave router out.',
    check({ plan, networkOfPurpose }, report) {
      const provider = networkOfPurpose('provider');
      if (!plan.openstack.externalNetwork?.router || !provider) return;
      if (provider.network.gateway !== undefined) return;
      report(
        pointer('openstack', 'externalNetwork', 'router'),
        `openstack.externalNetwork.router is true, but the provider network "${provider.network.name}" has no gateway: the router gets no default route and instances reach only ${provider.network.cidr}`,
        `Set networks[${provider.index}].gateway to the customer's router on ${provider.network.cidr}.`,
      );
    },
  },
];
