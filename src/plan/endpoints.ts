/**
 * The public names of uStack's OpenStack endpoints: `<name>.<site domain>`, all on the plan's
 * public VIP (the ingress controller answers for each by its host name). One list, used by the
 * Yaook resources (src/render/generators/ustack.ts), the DNS preflight, the hosts' name
 * fallback and the handover report, so they cannot drift apart.
 */
import type { Plan } from './schema.js';

/** Each endpoint's host name label and what answers there. */
export const OPENSTACK_ENDPOINTS = {
  keystone: 'Keystone, the identity API (the auth URL is https://keystone.<domain>/v3)',
  glance: 'Glance, the image API',
  nova: 'Nova, the compute API',
  placement: "Placement's API (part of Nova's Yaook resource)",
  novnc: "Nova's VNC console proxy (the browser console of a server)",
  neutron: 'Neutron, the network API',
  cinder: 'Cinder, the block storage API',
  horizon: 'Horizon, the dashboard',
} as const;
export type OpenStackEndpoint = keyof typeof OPENSTACK_ENDPOINTS;

/** The fully qualified name of one endpoint: keystone → keystone.dc2.example.com. */
export function endpointFqdn(plan: Plan, endpoint: OpenStackEndpoint): string {
  return `${endpoint}.${plan.site.domain}`;
}

/** Every endpoint name with the address it must resolve to (the public VIP). */
export function endpointRecords(plan: Plan): { name: string; address: string; what: string }[] {
  return (Object.keys(OPENSTACK_ENDPOINTS) as OpenStackEndpoint[]).map((e) => ({
    name: endpointFqdn(plan, e),
    address: plan.openstack.publicVip,
    what: OPENSTACK_ENDPOINTS[e],
  }));
}

/** How the endpoint names resolve on a site: `openstack.endpointDns` in the plan. */
export type EndpointDns = NonNullable<Plan['openstack']['endpointDns']>;

/**
 * The site's endpoint name mode, with the default when the plan leaves it out: real DNS for
 * a production site, the hosts file for a PoC. Every user of the mode (preflight, hosts
 * block, env file, report) asks here, so the default is decided once.
 */
export function endpointDns(plan: Plan): EndpointDns {
  return (
    plan.openstack.endpointDns ??
    (plan.site.environment === 'production' ? 'site-dns' : 'hosts-file')
  );
}

/** `address<TAB>name` lines for a hosts file: every endpoint name on the public VIP. */
export function endpointHostsLines(plan: Plan): string[] {
  return endpointRecords(plan).map((r) => `${r.address}\t${r.name}`);
}
