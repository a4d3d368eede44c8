/**
 * Neutron's provider network on the hypervisors: OVN's bridge mappings and the ML2 physnet
 * list. Interim: the provider uplink taken from host networking arrives with issue 13 item 5.
 */
import type { HostContext } from '../context.js';

export const PROVIDER_PHYSNET = 'physnet1';

export function ovnControllerTemplates(ctx: HostContext) {
  const provider = ctx.plan.networks.find((n) => n.purpose === 'provider');
  if (!provider) return [];
  return [
    {
      nodeSelectors: [{ matchLabels: { 'compute.yaook.cloud/hypervisor': 'true' } }],
      bridgeConfig: [
        {
          bridgeName: 'br-ex',
          uplinkDevice: `vlan${provider.vlan ?? 0}`,
          openstackPhysicalNetwork: PROVIDER_PHYSNET,
        },
      ],
    },
  ];
}

export function neutronMl2Config(ctx: HostContext) {
  const provider = ctx.plan.networks.some((n) => n.purpose === 'provider');
  return provider ? { ml2_type_flat: { flat_networks: [PROVIDER_PHYSNET] } } : {};
}
