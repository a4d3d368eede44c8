/**
 * The provider network in uStack (docs/ustack-provider-network.md): OVN's provider bridge on
 * every compute server, with the host interface uMetal configured for the provider network as
 * its uplink; the physnet Neutron knows it by; and the input of the runbook step that creates
 * the network in Neutron.
 */
import { providerNetwork, providerUplink } from '../../plan/host-links.js';
import type { SiteContext } from '../context.js';

/**
 * The physical network name Neutron and OVN use for the provider network. One name on every
 * compute server: it ties Neutron's `flat_networks` to each node's bridge mapping
 * (docs/upstream-facts.md#neutron-flat-physnet); `provider` as in Neutron's OVN reference
 * architecture (docs/upstream-facts.md#neutron-ovn-provider-refarch).
 */
export const PROVIDER_PHYSNET = 'provider';
/** The OVS bridge OVN attaches the provider network to on each compute server. */
export const PROVIDER_BRIDGE = 'br-provider';

/** One OVN controller template of a NeutronDeployment (docs/upstream-facts.md#yaook.ovn-bridge). */
export interface OvnControllerTemplate {
  nodeSelectors: { matchLabels: Record<string, string> }[];
  bridgeConfig: { bridgeName: string; uplinkDevice: string; openstackPhysicalNetwork: string }[];
}

/**
 * `setup.ovn.controller.configTemplates` of the NeutronDeployment: one template per distinct
 * uplink interface name, selecting by host name the compute servers whose provider network
 * rides on it. A Node is named after its server's hostname (kubeadm `nodeRegistration.name`,
 * src/render/generators/kubernetes.ts). Compute servers without an uplink get no template
 * (validation reports them: compute-provider-uplink).
 */
export function ovnControllerTemplates(ctx: SiteContext): OvnControllerTemplate[] {
  const byUplink = new Map<string, string[]>();
  for (const server of ctx.members) {
    if (!server.roles.includes('compute')) continue;
    const uplink = providerUplink(ctx.plan, server);
    if (!uplink) continue;
    byUplink.set(uplink.name, [...(byUplink.get(uplink.name) ?? []), server.hostname]);
  }
  return [...byUplink].map(([uplinkDevice, hosts]) => ({
    nodeSelectors: hosts.map((h) => ({ matchLabels: { 'kubernetes.io/hostname': h } })),
    bridgeConfig: [
      { bridgeName: PROVIDER_BRIDGE, uplinkDevice, openstackPhysicalNetwork: PROVIDER_PHYSNET },
    ],
  }));
}

/**
 * `neutronML2Config` of the NeutronDeployment: the provider physnet as a flat network. The
 * uplink delivers the provider network untagged (a NIC's own network, or the VLAN interface
 * that strips the tag), so to Neutron it is flat; Neutron refuses a flat network on a physnet
 * this list lacks (docs/upstream-facts.md#neutron-flat-physnet). Empty without a provider
 * network.
 */
export function neutronMl2Config(ctx: SiteContext): Record<string, unknown> {
  if (!ctx.plan.networks.some((n) => n.purpose === 'provider')) return {};
  return { ml2_type_flat: { flat_networks: [PROVIDER_PHYSNET] } };
}

/** The names uStart gives what it creates in Neutron for the provider network. */
export function externalNames(providerName: string) {
  return {
    network: providerName,
    subnet: `${providerName}-subnet`,
    router: `${providerName}-router`,
  };
}

/**
 * The input of ustack.provider-network: `key<TAB>value` lines the script reads without
 * evaluating them (the names come from the plan). `enabled no` when the plan sets no
 * `openstack.externalNetwork` or has no provider network: the step then creates nothing.
 */
export function providerNetworkConfig(ctx: SiteContext): string {
  const provider = providerNetwork(ctx.plan);
  const ext = ctx.plan.openstack.externalNetwork;
  const rows: [string, string][] = [];
  if (!provider || !ext) {
    rows.push(['enabled', 'no']);
  } else {
    const names = externalNames(provider.name);
    rows.push(
      ['enabled', 'yes'],
      ['network', names.network],
      ['physnet', PROVIDER_PHYSNET],
      ['subnet', names.subnet],
      ['cidr', provider.cidr],
      ['gateway', provider.gateway ?? 'none'],
      ['pool-start', ext.floatingRange.start],
      ['pool-end', ext.floatingRange.end],
      ['router', ext.router ? names.router : '-'],
    );
  }
  return rows.map((r) => r.join('\t')).join('\n') + '\n';
}
