/**
 * Generates large, valid site plans for tests and benchmarks: `generatePlan({ servers:
 * 1000, racks: 24, seed: 1 })` is a production site whose controllers stand in different
 * racks, whose storage servers carry OSD disks, whose networks are sized to fit and whose
 * addresses, rack positions and power draw all pass validation. The same options always
 * give the same plan; the seed varies the hardware and the rack each server lands in.
 */
import { UstartError, unreachable } from '../errors.js';
import { formatIpv4, parseCidr } from './ipv4.js';
import type { Disk, Network, Nic, Plan, Rack, Role, Server } from './schema.js';

export interface GenerateOptions {
  servers: number;
  racks: number;
  seed?: number;
  environment?: 'poc' | 'production';
}

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG; enough for test data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Layout {
  cidr: string;
  network: number;
  first: number;
  last: number;
}

/** A network of `prefix` at `base`, with gateway .1, VIPs below .11 and a pool above. */
function layout(base: string, prefix: number): Layout {
  const c = parseCidr(`${base}/${prefix}`)!;
  return { cidr: `${base}/${prefix}`, network: c.network, first: c.network + 11, last: c.last - 1 };
}

function network(
  name: string,
  purpose: Network['purpose'],
  vlan: number,
  l: Layout,
  opts: { gateway?: boolean; mtu: number },
): Network {
  return {
    name,
    purpose,
    vlan,
    cidr: l.cidr,
    ...(opts.gateway ? { gateway: formatIpv4(l.network + 1) } : {}),
    mtu: opts.mtu,
    pool: { start: formatIpv4(l.first), end: formatIpv4(l.last) },
  };
}

const hex = (n: number) => n.toString(16).padStart(2, '0');
const pad = (n: number, width: number) => String(n).padStart(width, '0');

const HEIGHT: Record<Role, number> = { controller: 1, compute: 1, storage: 2 };

export function generatePlan(options: GenerateOptions): Plan {
  const { servers: count, racks: rackCount, seed = 1, environment = 'production' } = options;
  if (!Number.isInteger(count) || count < 7 || count > 60_000) {
    throw new UstartError(
      'InvalidArgument',
      `cannot generate ${count} servers: choose a whole number from 7 to 60000.`,
    );
  }
  if (!Number.isInteger(rackCount) || rackCount < 1 || rackCount > count) {
    throw new UstartError(
      'InvalidArgument',
      `cannot spread ${count} servers over ${rackCount} racks: choose 1 to ${count} racks.`,
    );
  }
  const rnd = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;

  const controllers = count >= 200 && rackCount >= 3 ? 5 : 3;
  const storage = Math.max(3, Math.round(count * 0.12));
  const roles: Role[] = [
    ...Array<Role>(controllers).fill('controller'),
    ...Array<Role>(storage).fill('storage'),
    ...Array<Role>(count - controllers - storage).fill('compute'),
  ];

  // Room for every server, gateway, VIPs and the addresses below the pool, with spare.
  const prefix = Math.min(24, 32 - Math.ceil(Math.log2(count + 64)));
  const mgmt = layout('10.0.0.0', prefix);
  const bmc = layout('10.16.0.0', prefix);
  const stor = layout('10.32.0.0', prefix);
  const tenant = layout('10.48.0.0', prefix);
  const provider = layout('198.51.100.0', 24);
  const podPrefix = Math.min(16, 24 - Math.ceil(Math.log2(count)));

  // Controllers go one per rack from a seeded start; the rest deal round-robin by role so
  // each rack gets its share of storage (2U) and compute (1U) servers.
  const offset = Math.floor(rnd() * rackCount);
  const nextU = Array<number>(rackCount).fill(1);
  const watts = Array<number>(rackCount).fill(0);
  const rackNames = Array.from({ length: rackCount }, (_, i) => `R${pad(i + 1, 2)}`);
  const counters: Record<Role, number> = { controller: 0, compute: 0, storage: 0 };
  const width = String(count).length;

  const servers: Server[] = roles.map((role, i) => {
    const n = counters[role]++;
    const rack = (offset + n + (role === 'compute' ? storage : 0)) % rackCount;
    const units = HEIGHT[role];
    const position = nextU[rack]!;
    nextU[rack] = position + units;
    const hw = hardware(role, pick);
    watts[rack] = watts[rack]! + hw.powerW;
    const nics: Nic[] = [
      { name: 'eno1', mac: mac(1, i), speedGbps: 25, network: 'mgmt' },
      { name: 'ens1f0', mac: mac(2, i), speedGbps: 25, network: 'storage' },
    ];
    const addresses: Record<string, string> = {
      mgmt: formatIpv4(mgmt.first + i),
      storage: formatIpv4(stor.first + i),
    };
    if (role === 'controller') {
      nics.push({ name: 'ens1f1', mac: mac(3, i), speedGbps: 25, network: 'provider' });
      addresses.provider = formatIpv4(provider.first + n);
    }
    if (role === 'compute') {
      // The provider network tagged: its VLAN interface is OVN's uplink, with no address.
      nics.push({
        name: 'ens1f1',
        mac: mac(4, i),
        speedGbps: 25,
        network: 'tenant',
        tagged: ['provider'],
      });
      addresses.tenant = formatIpv4(tenant.first + i);
    }
    const prefixName = role === 'controller' ? 'ctl' : role === 'compute' ? 'cmp' : 'sto';
    return {
      hostname: `${prefixName}-${pad(n + 1, width)}`,
      rack: rackNames[rack]!,
      position,
      units,
      model: hw.model,
      vendor: hw.vendor,
      cpu: hw.cpu,
      memoryGiB: hw.memoryGiB,
      disks: hw.disks,
      nics,
      bmc: { address: formatIpv4(bmc.first + i), protocol: 'redfish' },
      addresses,
      roles: [role],
      powerW: hw.powerW,
    };
  });

  const tallest = Math.max(...nextU) - 1;
  if (tallest > 58) {
    throw new UstartError(
      'InvalidArgument',
      `${count} servers need ${tallest} U in the fullest of ${rackCount} racks; use more racks.`,
    );
  }
  const racks: Rack[] = rackNames.map((name, r) => ({
    name,
    units: Math.max(42, tallest + 2),
    // Budgets keep every rack under 75 % so the headroom advice stays quiet.
    powerKw: Math.max(4, Math.ceil(watts[r]! / 750)),
  }));

  const mgmtHost = (k: number) => formatIpv4(mgmt.network + k);
  return {
    schemaVersion: 1,
    site: {
      name: `generated-${count}`,
      customer: 'Generated Test Site GmbH',
      location: `synthetic site, ${rackCount} racks, seed ${seed}`,
      environment,
      domain: 'cloud.generated.example',
      ntp: [mgmtHost(2), mgmtHost(3), mgmtHost(4)],
      dns: [mgmtHost(2), mgmtHost(3)],
      airGapped: false,
      osRelease: 'ubuntu-24.04',
    },
    networks: [
      network('mgmt', 'management', 100, mgmt, { gateway: true, mtu: 1500 }),
      network('bmc', 'bmc', 90, bmc, { gateway: true, mtu: 1500 }),
      network('storage', 'storage', 200, stor, { mtu: 9000 }),
      network('provider', 'provider', 300, provider, { gateway: true, mtu: 1500 }),
      network('tenant', 'tenant', 400, tenant, { mtu: 9000 }),
    ],
    racks,
    servers,
    kubernetes: {
      version: '1.31.4',
      controlPlaneVip: mgmtHost(5),
      podCidr: `10.128.0.0/${podPrefix}`,
      serviceCidr: '10.96.0.0/12',
    },
    openstack: {
      release: '2025.1',
      region: 'RegionOne',
      publicVip: formatIpv4(provider.network + 5),
    },
    access: { user: 'ubuntu' },
  };
}

function mac(nic: number, server: number): string {
  return `b0:7b:25:${hex(nic)}:${hex((server >>> 8) & 255)}:${hex(server & 255)}`;
}

interface Hardware {
  model: string;
  vendor: string;
  cpu: Server['cpu'];
  memoryGiB: number;
  disks: Disk[];
  powerW: number;
}

const osDisks = (sizeGB: number): Disk[] => [
  { device: '/dev/sda', sizeGB, type: 'ssd', use: 'os' },
  { device: '/dev/sdb', sizeGB, type: 'ssd', use: 'os' },
];

function hardware(role: Role, pick: <T>(list: readonly T[]) => T): Hardware {
  switch (role) {
    case 'controller':
      return {
        model: 'PowerEdge R650',
        vendor: 'Dell',
        cpu: { sockets: 2, cores: pick([16, 24, 32]), threads: 2 },
        memoryGiB: pick([128, 256]),
        disks: osDisks(480),
        powerW: 450,
      };
    case 'compute':
      return {
        model: pick(['ProLiant DL360 Gen11', 'PowerEdge R660']),
        vendor: pick(['HPE', 'Dell']),
        cpu: { sockets: 2, cores: pick([32, 48, 64]), threads: 2 },
        memoryGiB: pick([512, 768, 1024]),
        disks: osDisks(pick([480, 960])),
        powerW: pick([550, 650, 750]),
      };
    case 'storage': {
      const osds = pick([6, 8, 10]);
      return {
        model: 'PowerEdge R7625',
        vendor: 'Dell',
        cpu: { sockets: 1, cores: 32, threads: 2 },
        memoryGiB: 256,
        disks: [
          ...osDisks(480),
          ...Array.from({ length: osds }, (_, k): Disk => ({
            device: `/dev/nvme${k}n1`,
            sizeGB: 7680,
            type: 'nvme',
            use: 'ceph-osd',
          })),
        ],
        powerW: 900,
      };
    }
    default:
      throw unreachable(role);
  }
}
