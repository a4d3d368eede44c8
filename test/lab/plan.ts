/** The site plan a lab writes: one server per lab host, ready for `ustart run`. */
import { CURRENT_SCHEMA_VERSION, Plan, type Role } from '../../src/plan/schema.js';

export interface PlanHost {
  hostname: string;
  address: string;
  port: number;
  role: Role;
}

/** Roles by position: the first three are controllers, the rest split between compute and storage. */
export function labRole(index: number, count: number): Role {
  if (index < 3) return 'controller';
  const rest = count - 3;
  return index - 3 < Math.ceil(rest / 2) ? 'compute' : 'storage';
}

export function labPlan(options: {
  id: string;
  subnet: string;
  hosts: readonly PlanHost[];
  user: string;
  jump?: { address: string; port: number };
}): Plan {
  const { id, subnet, hosts } = options;
  const base = subnet.split('.').slice(0, 3).join('.');
  const plan: Plan = {
    schemaVersion: CURRENT_SCHEMA_VERSION,
    site: {
      name: `lab-${id}`,
      customer: 'uStart test lab',
      location: 'network namespaces on this machine',
      environment: 'poc',
      domain: 'lab.example',
      ntp: [`${base}.1`],
      dns: [`${base}.1`],
      airGapped: true,
      osRelease: 'debian-12',
    },
    networks: [
      {
        name: 'mgmt',
        purpose: 'management',
        cidr: subnet,
        mtu: 1500,
        pool: { start: `${base}.10`, end: `${base}.200` },
      },
    ],
    racks: [{ name: 'R01', units: 42, powerKw: 20 }],
    servers: hosts.map((h, i) => ({
      hostname: h.hostname,
      rack: 'R01',
      position: 1 + i,
      units: 1,
      model: 'lab namespace',
      cpu: { sockets: 1, cores: 2, threads: 1 },
      memoryGiB: 4,
      disks: [{ device: '/dev/vda', sizeGB: 100, type: 'ssd', use: 'os' }],
      nics: [
        {
          name: 'eth0',
          mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
          speedGbps: 10,
          network: 'mgmt',
        },
      ],
      addresses: { mgmt: h.address },
      roles: [h.role],
      ssh: { address: h.address, port: h.port, user: options.user },
    })),
    kubernetes: {
      version: '1.31.4',
      controlPlaneVip: `${base}.250`,
      podCidr: '10.244.0.0/16',
      serviceCidr: '10.96.0.0/12',
    },
    openstack: { release: '2025.1', region: 'RegionOne', publicVip: `${base}.251` },
    access: {
      user: options.user,
      ...(options.jump
        ? {
            jumpHost: {
              address: options.jump.address,
              port: options.jump.port,
              user: options.user,
            },
          }
        : {}),
    },
  };
  // The plan is the lab's contract with the engine: fail here, not in a test far away.
  return Plan.parse(plan);
}
