/** The plan a consultant starts from when there is nothing yet (`plan:new`). */
import type { Plan } from './schema.js';

/**
 * A plan to start from nothing: the five usual networks with example ranges and no
 * hardware yet. Its findings (no controllers, no servers) guide the first steps.
 */
export function emptyPlan(): Plan {
  const net = (
    name: string,
    purpose: Plan['networks'][number]['purpose'],
    vlan: number,
    third: number,
    mtu = 1500,
  ) => ({
    name,
    purpose,
    vlan,
    cidr: `10.${third}.0.0/24`,
    ...(purpose === 'management' || purpose === 'bmc' ? { gateway: `10.${third}.0.1` } : {}),
    mtu,
    pool: { start: `10.${third}.0.11`, end: `10.${third}.0.200` },
  });
  return {
    schemaVersion: 1,
    site: {
      name: 'new-site',
      customer: 'Customer',
      location: 'Datacenter',
      environment: 'poc',
      domain: 'cloud.example',
      ntp: ['10.10.0.2'],
      dns: ['10.10.0.2'],
      airGapped: false,
    },
    networks: [
      net('mgmt', 'management', 100, 10),
      net('bmc', 'bmc', 90, 9),
      net('storage', 'storage', 200, 20, 9000),
      net('provider', 'provider', 300, 40),
      net('tenant', 'tenant', 400, 30, 9000),
    ],
    racks: [],
    servers: [],
    kubernetes: {
      version: '1.31.4',
      controlPlaneVip: '10.10.0.5',
      podCidr: '172.16.0.0/16',
      serviceCidr: '172.17.0.0/16',
    },
    openstack: { release: '2025.1', region: 'RegionOne', publicVip: '10.40.0.5' },
    access: { user: 'ubuntu' },
  };
}
