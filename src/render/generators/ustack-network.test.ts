import { beforeAll, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../plan/load.js';
import type { Plan } from '../../plan/schema.js';
import { assetPath } from '../../util/assets.js';
import { hostContext, siteContext } from '../context.js';
import { hostNetworkLinks } from './host-network.js';
import { yaookResource } from './ustack.js';
import {
  neutronMl2Config,
  ovnControllerTemplates,
  PROVIDER_PHYSNET,
  providerNetworkConfig,
} from './ustack-network.js';

let demo: Plan;
beforeAll(async () => {
  demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
});
const hostCtx = (plan: Plan, hostname: string) =>
  hostContext(
    siteContext(plan),
    plan.servers.find((s) => s.hostname === hostname)!,
  );

describe('the OVN provider uplink from the host networking', () => {
  it("bridges the demo's compute servers on the VLAN interface host-network makes", () => {
    expect(ovnControllerTemplates(siteContext(demo))).toEqual([
      {
        nodeSelectors: ['cmp-01', 'cmp-02', 'cmp-03', 'cmp-04'].map((h) => ({
          matchLabels: { 'kubernetes.io/hostname': h },
        })),
        bridgeConfig: [
          {
            bridgeName: 'br-provider',
            uplinkDevice: 'ens1f1.300',
            openstackPhysicalNetwork: PROVIDER_PHYSNET,
          },
        ],
      },
    ]);
    // The uplink is an interface the host-network step makes on each of those servers.
    const links = hostNetworkLinks(hostCtx(demo, 'cmp-02'));
    expect(links).toContain('make\tvlan\tens1f1.300\tens1f1\t300\t1500\t-\t');
  });

  it('groups servers by uplink name: an untagged NIC, a bond, a tagged VLAN', () => {
    const plan = structuredClone(demo);
    const [c1, c2, c3] = plan.servers.filter((s) => s.roles.includes('compute'));
    c1!.nics[2] = { ...c1!.nics[2]!, network: 'provider', tagged: ['tenant'] };
    for (const s of [c2!, c3!]) {
      s.nics[2] = { ...s.nics[2]!, network: undefined, tagged: undefined };
      s.bonds = [
        {
          name: 'bond1',
          mode: 'active-backup',
          members: ['ens1f1'],
          network: 'provider',
          tagged: ['tenant'],
        },
      ];
    }
    const got = ovnControllerTemplates(siteContext(plan)).map((t) => [
      t.bridgeConfig[0]!.uplinkDevice,
      t.nodeSelectors.map((n) => n.matchLabels['kubernetes.io/hostname']),
    ]);
    expect(got).toEqual([
      ['ens1f1', ['cmp-01']],
      ['bond1', ['cmp-02', 'cmp-03']],
      ['ens1f1.300', ['cmp-04']],
    ]);
  });

  it('lists the physnet every bridge maps as Neutron’s one flat network', () => {
    const ctx = siteContext(demo);
    expect(neutronMl2Config(ctx)).toEqual({ ml2_type_flat: { flat_networks: ['provider'] } });
    const physnets = ovnControllerTemplates(ctx).flatMap((t) =>
      t.bridgeConfig.map((b) => b.openstackPhysicalNetwork),
    );
    expect(new Set(physnets)).toEqual(new Set(['provider']));
    const neutron = yaookResource(hostCtx(demo, 'ctl-01'), 'neutron') as {
      spec: {
        neutronML2Config: unknown;
        setup: { ovn: { controller: { configTemplates: unknown } } };
      };
    };
    expect(neutron.spec.neutronML2Config).toEqual(neutronMl2Config(ctx));
    expect(neutron.spec.setup.ovn.controller.configTemplates).toEqual(ovnControllerTemplates(ctx));
    expect(JSON.stringify(neutron)).not.toMatch(/vlan\d|physnet1|br-ex/);
  });

  it('renders no bridge and no flat network without a provider network', () => {
    const plan = structuredClone(demo);
    plan.networks = plan.networks.filter((n) => n.purpose !== 'provider');
    for (const s of plan.servers) {
      delete s.addresses.provider;
      for (const n of s.nics) {
        if (n.network === 'provider') delete n.network;
        n.tagged = n.tagged?.filter((t) => t !== 'provider');
      }
    }
    expect(ovnControllerTemplates(siteContext(plan))).toEqual([]);
    expect(neutronMl2Config(siteContext(plan))).toEqual({});
    expect(providerNetworkConfig(siteContext(plan))).toBe('enabled\tno\n');
  });
});

describe('the input of ustack.provider-network', () => {
  it('names the network, physnet, subnet, floating range and router of the demo', () => {
    const rows = providerNetworkConfig(siteContext(demo))
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(Object.fromEntries(rows)).toEqual({
      enabled: 'yes',
      network: 'provider',
      physnet: 'provider',
      subnet: 'provider-subnet',
      cidr: '203.0.113.0/24',
      gateway: '203.0.113.1',
      'pool-start': '203.0.113.100',
      'pool-end': '203.0.113.250',
      router: 'provider-router',
    });
  });

  it('asks for no router unless the plan does, and no gateway without one', () => {
    const plan = structuredClone(demo);
    plan.openstack.externalNetwork!.router = false;
    delete plan.networks.find((n) => n.purpose === 'provider')!.gateway;
    const text = providerNetworkConfig(siteContext(plan));
    expect(text).toContain('router\t-\n');
    expect(text).toContain('gateway\tnone\n');
  });
});
