import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { assetPath } from '../../util/assets.js';
import { countBySeverity } from '../finding.js';
import { parsePlanText } from '../load.js';
import type { Disk, Plan } from '../schema.js';
import { RULES, validatePlan } from './index.js';
import { RULE_FAMILIES } from './rule.js';
import { RULES_DOC, rulesMarkdown } from './rules-doc.js';

const DEMO_FILE = assetPath('samples', 'demo-stuttgart.yaml');
const DEMO_TEXT = readFileSync(DEMO_FILE, 'utf8');

/** A fresh copy of the demo plan, as loaded from the sample file. */
function demo(): Plan {
  const parsed = parsePlanText(DEMO_TEXT, DEMO_FILE);
  if (!parsed.plan) throw new Error(`the demo plan does not load: ${parsed.findings[0]?.message}`);
  return parsed.plan;
}

const production = (p: Plan) => {
  p.site.environment = 'production';
};
const osd = (device: string, sizeGB = 7680): Disk => ({
  device,
  sizeGB,
  type: 'nvme',
  use: 'ceph-osd',
});

interface Case {
  rule: string;
  path: string;
  /** Breaks the demo plan so that `rule` reports at `path`. */
  breakIt: (p: Plan) => void;
}

/** One way to break the demo per rule (a few rules have two): each must be caught. */
const CASES: Case[] = [
  // site
  {
    rule: 'site-name-format',
    path: '/site/name',
    breakIt: (p) => void (p.site.name = 'Musterbau AG/Stuttgart'),
  },
  {
    rule: 'site-domain-format',
    path: '/site/domain',
    breakIt: (p) => void (p.site.domain = 'cloud_musterbau..example'),
  },
  {
    rule: 'site-domain-local',
    path: '/site/domain',
    breakIt: (p) => void (p.site.domain = 'cloud.local'),
  },
  { rule: 'ntp-missing', path: '/site/ntp', breakIt: (p) => void (p.site.ntp = []) },
  { rule: 'dns-missing', path: '/site/dns', breakIt: (p) => void (p.site.dns = []) },
  {
    rule: 'ntp-redundancy',
    path: '/site/ntp',
    breakIt: (p) => {
      production(p);
      p.site.ntp = ['10.10.0.2'];
    },
  },
  {
    rule: 'dns-redundancy',
    path: '/site/dns',
    breakIt: (p) => {
      production(p);
      p.site.dns = ['10.10.0.2'];
    },
  },
  {
    rule: 'ntp-duplicate',
    path: '/site/ntp/1',
    breakIt: (p) => void (p.site.ntp = ['10.10.0.2', '10.10.0.2']),
  },
  {
    rule: 'dns-duplicate',
    path: '/site/dns/1',
    breakIt: (p) => void (p.site.dns = ['10.10.0.3', '10.10.0.3']),
  },
  {
    rule: 'ntp-format',
    path: '/site/ntp/0',
    breakIt: (p) => void (p.site.ntp[0] = 'ntp server 1'),
  },
  {
    rule: 'dns-loopback',
    path: '/site/dns/0',
    breakIt: (p) => void (p.site.dns[0] = '127.0.0.53'),
  },
  { rule: 'ntp-count', path: '/site/ntp', breakIt: production },
  // networks
  {
    rule: 'network-name-unique',
    path: '/networks/4/name',
    breakIt: (p) => void (p.networks[4]!.name = 'storage'),
  },
  {
    rule: 'network-vlan-unique',
    path: '/networks/4/vlan',
    breakIt: (p) => void (p.networks[4]!.vlan = 200),
  },
  {
    rule: 'network-cidr-host-bits',
    path: '/networks/2/cidr',
    breakIt: (p) => void (p.networks[2]!.cidr = '10.20.0.5/24'),
  },
  {
    rule: 'network-overlap',
    path: '/networks/4/cidr',
    breakIt: (p) => void (p.networks[4]!.cidr = '10.20.0.0/16'),
  },
  {
    rule: 'network-gateway-inside',
    path: '/networks/0/gateway',
    breakIt: (p) => void (p.networks[0]!.gateway = '10.11.0.1'),
  },
  {
    rule: 'network-gateway-inside',
    path: '/networks/0/gateway',
    breakIt: (p) => void (p.networks[0]!.gateway = '10.10.0.255'),
  },
  {
    rule: 'network-pool-inside',
    path: '/networks/0/pool/end',
    breakIt: (p) => void (p.networks[0]!.pool!.end = '10.10.0.255'),
  },
  {
    rule: 'network-pool-order',
    path: '/networks/0/pool',
    breakIt: (p) => void (p.networks[0]!.pool = { start: '10.10.0.200', end: '10.10.0.11' }),
  },
  {
    rule: 'network-pool-reserved',
    path: '/networks/0/pool',
    breakIt: (p) => void (p.networks[0]!.pool!.start = '10.10.0.2'),
  },
  {
    rule: 'network-size',
    path: '/networks/3/cidr',
    breakIt: (p) => void (p.networks[3]!.cidr = '203.0.113.0/30'),
  },
  {
    rule: 'network-management-count',
    path: '/networks/4/purpose',
    breakIt: (p) => void (p.networks[4]!.purpose = 'management'),
  },
  {
    rule: 'network-management-count',
    path: '/networks',
    breakIt: (p) => void (p.networks[0]!.purpose = 'tenant'),
  },
  {
    rule: 'network-storage-missing',
    path: '/networks',
    breakIt: (p) => void (p.networks[2]!.purpose = 'tenant'),
  },
  {
    rule: 'network-bmc-missing',
    path: '/networks',
    breakIt: (p) => void (p.networks[1]!.purpose = 'tenant'),
  },
  {
    rule: 'network-storage-mtu',
    path: '/networks/2/mtu',
    breakIt: (p) => void (p.networks[2]!.mtu = 1500),
  },
  {
    rule: 'network-mtu-consistent',
    path: '/networks/5/mtu',
    breakIt: (p) =>
      void p.networks.push({
        name: 'tenant2',
        purpose: 'tenant',
        vlan: 401,
        cidr: '10.40.0.0/24',
        mtu: 1600,
      }),
  },
  {
    rule: 'network-tenant-mtu',
    path: '/networks/4/mtu',
    breakIt: (p) => void (p.networks[4]!.mtu = 1500),
  },
  {
    rule: 'network-provider-gateway',
    path: '/networks/3/gateway',
    breakIt: (p) => void delete p.networks[3]!.gateway,
  },
  {
    rule: 'network-tenant-missing',
    path: '/networks',
    breakIt: (p) => void p.networks.splice(4, 1),
  },
  {
    rule: 'network-untagged',
    path: '/networks/4/vlan',
    breakIt: (p) => {
      delete p.networks[3]!.vlan;
      delete p.networks[4]!.vlan;
    },
  },
  // addresses
  {
    rule: 'address-network-known',
    path: '/servers/0/addresses/mgnt',
    breakIt: (p) => void (p.servers[0]!.addresses.mgnt = '10.10.0.99'),
  },
  {
    rule: 'address-inside-network',
    path: '/servers/0/addresses/storage',
    breakIt: (p) => void (p.servers[0]!.addresses.storage = '10.10.0.99'),
  },
  {
    rule: 'address-reserved',
    path: '/servers/0/addresses/mgmt',
    breakIt: (p) => void (p.servers[0]!.addresses.mgmt = '10.10.0.255'),
  },
  {
    rule: 'address-reserved',
    path: '/servers/0/addresses/mgmt',
    breakIt: (p) => void (p.servers[0]!.addresses.mgmt = '10.10.0.1'),
  },
  {
    rule: 'address-vip-conflict',
    path: '/servers/0/addresses/mgmt',
    breakIt: (p) => void (p.servers[0]!.addresses.mgmt = '10.10.0.5'),
  },
  {
    rule: 'address-unique',
    path: '/servers/1/addresses/mgmt',
    breakIt: (p) => void (p.servers[1]!.addresses.mgmt = '10.10.0.11'),
  },
  {
    rule: 'address-unique',
    path: '/servers/1/bmc/address',
    breakIt: (p) => void (p.servers[1]!.bmc!.address = '10.9.0.11'),
  },
  {
    rule: 'address-missing',
    path: '/servers/3/addresses/storage',
    breakIt: (p) => {
      delete p.networks[2]!.pool;
      delete p.servers[3]!.addresses.storage;
    },
  },
  {
    rule: 'address-ipam-pending',
    path: '/servers/3/addresses/mgmt',
    breakIt: (p) => void delete p.servers[3]!.addresses.mgmt,
  },
  {
    rule: 'address-nic-missing',
    path: '/servers/7/addresses/tenant',
    breakIt: (p) => void (p.servers[7]!.addresses.tenant = '10.30.0.31'),
  },
  {
    rule: 'bmc-address-network',
    path: '/servers/0/bmc/address',
    breakIt: (p) => void (p.servers[0]!.bmc!.address = '10.10.0.99'),
  },
  {
    rule: 'address-on-bmc-network',
    path: '/servers/0/addresses/bmc',
    breakIt: (p) => void (p.servers[0]!.addresses.bmc = '10.9.0.99'),
  },
  {
    rule: 'vip-reserved',
    path: '/kubernetes/controlPlaneVip',
    breakIt: (p) => void (p.kubernetes.controlPlaneVip = '10.10.0.1'),
  },
  {
    rule: 'vip-distinct',
    path: '/openstack/publicVip',
    breakIt: (p) => void (p.openstack.publicVip = '10.10.0.5'),
  },
  {
    rule: 'vip-site-service',
    path: '/kubernetes/controlPlaneVip',
    breakIt: (p) => void (p.kubernetes.controlPlaneVip = '10.10.0.2'),
  },
  // racks
  {
    rule: 'rack-name-unique',
    path: '/racks/1/name',
    breakIt: (p) => void (p.racks[1]!.name = 'R01'),
  },
  {
    rule: 'server-rack-known',
    path: '/servers/0/rack',
    breakIt: (p) => void (p.servers[0]!.rack = 'R9'),
  },
  {
    rule: 'rack-position-range',
    path: '/servers/0/position',
    breakIt: (p) => Object.assign(p.servers[0]!, { position: 42, units: 2 }),
  },
  {
    rule: 'rack-unit-overlap',
    path: '/servers/5/position',
    breakIt: (p) => void (p.servers[5]!.position = 31),
  },
  {
    rule: 'rack-unit-overlap',
    path: '/servers/2/position',
    breakIt: (p) => Object.assign(p.servers[2]!, { rack: 'R01', position: 40 }),
  },
  {
    rule: 'rack-power-budget',
    path: '/racks/0/powerKw',
    breakIt: (p) => void (p.racks[0]!.powerKw = 2),
  },
  {
    rule: 'rack-power-budget',
    path: '/racks/0/powerKw',
    breakIt: (p) => {
      for (const s of p.servers) delete s.powerW;
      p.racks[0]!.powerKw = 3;
    },
  },
  {
    rule: 'rack-power-headroom',
    path: '/racks/0/powerKw',
    breakIt: (p) => void (p.racks[0]!.powerKw = 5),
  },
  {
    rule: 'rack-unused',
    path: '/racks/3',
    breakIt: (p) => void p.racks.push({ name: 'R04', units: 42, powerKw: 8 }),
  },
  // servers
  {
    rule: 'hostname-format',
    path: '/servers/0/hostname',
    breakIt: (p) => void (p.servers[0]!.hostname = 'ctl-01;rm -rf /'),
  },
  {
    rule: 'hostname-unique',
    path: '/servers/1/hostname',
    breakIt: (p) => void (p.servers[1]!.hostname = 'CTL-01'),
  },
  {
    rule: 'hostname-fqdn-length',
    path: '/servers/0/hostname',
    breakIt: (p) => void (p.site.domain = Array(4).fill('a'.repeat(60)).join('.') + '.example'),
  },
  {
    rule: 'mac-unique',
    path: '/servers/1/nics/0/mac',
    breakIt: (p) => void (p.servers[1]!.nics[0]!.mac = 'B0:7B:25:1A:00:01'),
  },
  {
    rule: 'mac-unicast',
    path: '/servers/0/nics/0/mac',
    breakIt: (p) => void (p.servers[0]!.nics[0]!.mac = '01:00:5e:00:00:01'),
  },
  {
    rule: 'mac-unicast',
    path: '/servers/0/nics/0/mac',
    breakIt: (p) => void (p.servers[0]!.nics[0]!.mac = '00:00:00:00:00:00'),
  },
  {
    rule: 'nic-network-known',
    path: '/servers/0/nics/0/network',
    breakIt: (p) => void (p.servers[0]!.nics[0]!.network = 'mgnt'),
  },
  // host-network
  {
    rule: 'tagged-network-known',
    path: '/servers/0/nics/2/tagged/0',
    breakIt: (p) => void (p.servers[0]!.nics[2]!.tagged = ['tennant']),
  },
  {
    rule: 'tagged-network-vlan',
    path: '/servers/0/nics/2/tagged/0',
    breakIt: (p) => {
      delete p.networks[4]!.vlan;
      p.servers[0]!.nics[2]!.tagged = ['tenant'];
    },
  },
  {
    rule: 'network-carried-once',
    path: '/servers/0/nics/2/tagged/0',
    breakIt: (p) => void (p.servers[0]!.nics[2]!.tagged = ['storage']),
  },
  {
    rule: 'bond-name-unique',
    path: '/servers/0/bonds/0/name',
    breakIt: (p) =>
      void (p.servers[0]!.bonds = [{ name: 'eno1', mode: 'active-backup', members: ['ens1f1'] }]),
  },
  {
    rule: 'bond-member-known',
    path: '/servers/0/bonds/0/members/0',
    breakIt: (p) =>
      void (p.servers[0]!.bonds = [{ name: 'bond0', mode: '802.3ad', members: ['ens9f0'] }]),
  },
  {
    rule: 'bond-member-unique',
    path: '/servers/0/bonds/1/members/0',
    breakIt: (p) =>
      void (p.servers[0]!.bonds = [
        { name: 'bond0', mode: '802.3ad', members: ['ens1f1'] },
        { name: 'bond1', mode: '802.3ad', members: ['ens1f1'] },
      ]),
  },
  {
    rule: 'bond-member-network',
    path: '/servers/0/nics/2/network',
    breakIt: (p) =>
      void (p.servers[0]!.bonds = [
        { name: 'bond0', mode: 'active-backup', members: ['ens1f1'], network: 'provider' },
      ]),
  },
  {
    rule: 'vlan-mtu-exceeds-parent',
    path: '/servers/0/nics/1/network',
    breakIt: (p) => void (p.servers[0]!.nics[1]!.mtu = 1500),
  },
  {
    rule: 'vlan-interface-name-length',
    path: '/servers/0/nics/2/tagged/0',
    breakIt: (p) => {
      p.servers[0]!.nics[2]!.name = 'enp129s0f1np1x';
      p.servers[0]!.nics[2]!.tagged = ['tenant'];
    },
  },
  {
    rule: 'bond-hash-policy-mode',
    path: '/servers/0/bonds/0/hashPolicy',
    breakIt: (p) => {
      delete p.servers[0]!.nics[2]!.network;
      p.servers[0]!.bonds = [
        {
          name: 'bond0',
          mode: 'active-backup',
          members: ['ens1f1'],
          network: 'provider',
          hashPolicy: 'layer3+4',
        },
      ];
    },
  },
  {
    rule: 'nic-name-unique',
    path: '/servers/0/nics/1/name',
    breakIt: (p) => void (p.servers[0]!.nics[1]!.name = 'eno1'),
  },
  {
    rule: 'management-nic-missing',
    path: '/servers/0/nics',
    breakIt: (p) => void p.servers[0]!.nics.shift(),
  },
  {
    rule: 'disk-device-unique',
    path: '/servers/7/disks/2/device',
    breakIt: (p) => void (p.servers[7]!.disks[2]!.device = '/dev/sda'),
  },
  {
    rule: 'os-disk-missing',
    path: '/servers/3/disks',
    breakIt: (p) => void (p.servers[3]!.disks[0]!.use = 'data'),
  },
  { rule: 'os-disk-mirror', path: '/servers/3/disks/0', breakIt: production },
  {
    rule: 'os-disk-count',
    path: '/servers/0/disks/2/use',
    breakIt: (p) =>
      void p.servers[0]!.disks.push({ device: '/dev/sdc', sizeGB: 480, type: 'ssd', use: 'os' }),
  },
  {
    rule: 'os-disk-size',
    path: '/servers/0/disks/0/sizeGB',
    breakIt: (p) => void (p.servers[0]!.disks[0]!.sizeGB = 64),
  },
  {
    rule: 'os-disk-mirror-size',
    path: '/servers/0/disks',
    breakIt: (p) => void (p.servers[0]!.disks[1]!.sizeGB = 960),
  },
  {
    rule: 'server-bmc-missing',
    path: '/servers/0/bmc',
    breakIt: (p) => void delete p.servers[0]!.bmc,
  },
  {
    rule: 'nic-speed-mixed',
    path: '/servers/4/nics',
    breakIt: (p) => void (p.servers[4]!.nics[1]!.speedGbps = 10),
  },
  // roles
  {
    rule: 'server-no-roles',
    path: '/servers/3/roles',
    breakIt: (p) => void (p.servers[3]!.roles = []),
  },
  {
    rule: 'role-duplicate',
    path: '/servers/3/roles/1',
    breakIt: (p) => void (p.servers[3]!.roles = ['compute', 'compute']),
  },
  {
    rule: 'controller-count-min',
    path: '/servers',
    breakIt: (p) => p.servers.slice(0, 3).forEach((s) => (s.roles = ['compute'])),
  },
  {
    rule: 'controller-count-odd',
    path: '/servers/0/roles',
    breakIt: (p) => void (p.servers[3]!.roles = ['controller']),
  },
  {
    rule: 'controller-count-production',
    path: '/servers/0/roles',
    breakIt: (p) => {
      production(p);
      p.servers[1]!.roles = ['compute'];
      p.servers[2]!.roles = ['compute'];
    },
  },
  {
    rule: 'controller-count-large',
    path: '/servers/0/roles',
    breakIt: (p) => p.servers.slice(3, 7).forEach((s) => (s.roles = ['controller'])),
  },
  {
    rule: 'controller-spread',
    path: '/servers/0/roles',
    breakIt: (p) => {
      Object.assign(p.servers[1]!, { rack: 'R01', position: 41 });
      Object.assign(p.servers[2]!, { rack: 'R01', position: 38 });
    },
  },
  {
    // The demo as it was before issue 17: ctl-01 and ctl-03 in R01, ctl-02 in R02.
    rule: 'rack-loss-quorum',
    path: '/servers/0/rack',
    breakIt: (p) => Object.assign(p.servers[2]!, { rack: 'R01', position: 38 }),
  },
  {
    // Five controllers, two per rack in R01 and R02: etcd keeps 3 of 5 without either, but
    // the scheduler may put 2 of the 3 Ceph monitors in one of them.
    rule: 'rack-loss-quorum',
    path: '/servers/1/rack',
    breakIt: (p) => {
      p.servers[3]!.roles.push('controller');
      p.servers[4]!.roles.push('controller');
    },
  },
  {
    rule: 'compute-count-min',
    path: '/servers',
    breakIt: (p) => p.servers.slice(3, 7).forEach((s) => (s.roles = [])),
  },
  {
    rule: 'compute-count-production',
    path: '/servers/3/roles',
    breakIt: (p) => {
      production(p);
      p.servers.slice(4, 7).forEach((s) => (s.roles = []));
    },
  },
  {
    rule: 'role-hyperconverged',
    path: '/servers/0/roles',
    breakIt: (p) => {
      production(p);
      p.servers[0]!.roles = ['controller', 'compute'];
    },
  },
  {
    rule: 'role-memory-floor',
    path: '/servers/0/memoryGiB',
    breakIt: (p) => void (p.servers[0]!.memoryGiB = 32),
  },
  {
    rule: 'role-memory-floor',
    path: '/servers/7/memoryGiB',
    breakIt: (p) => {
      p.servers[7]!.memoryGiB = 64;
      p.servers[7]!.roles = ['storage', 'controller'];
    },
  },
  {
    rule: 'role-core-floor',
    path: '/servers/0/cpu/cores',
    breakIt: (p) => Object.assign(p.servers[0]!.cpu, { sockets: 1, cores: 8 }),
  },
  // storage
  {
    rule: 'storage-count-production',
    path: '/servers/7/roles',
    breakIt: (p) => {
      production(p);
      p.servers[9]!.roles = ['compute'];
    },
  },
  {
    rule: 'storage-count-poc',
    path: '/servers/7/roles',
    breakIt: (p) => void (p.servers[9]!.roles = ['compute']),
  },
  {
    rule: 'storage-osd-missing',
    path: '/servers/7/disks',
    breakIt: (p) => void (p.servers[7]!.disks = p.servers[7]!.disks.filter((d) => d.use === 'os')),
  },
  {
    rule: 'osd-on-non-storage',
    path: '/servers/3/disks/1/use',
    breakIt: (p) => void p.servers[3]!.disks.push(osd('/dev/nvme1n1')),
  },
  {
    rule: 'storage-network-nic',
    path: '/servers/7/nics',
    breakIt: (p) => void p.servers[7]!.nics.pop(),
  },
  {
    rule: 'storage-nic-speed',
    path: '/servers/7/nics/1/speedGbps',
    breakIt: (p) => void (p.servers[7]!.nics[1]!.speedGbps = 1),
  },
  {
    rule: 'storage-rack-spread',
    path: '/servers/7/roles',
    breakIt: (p) => Object.assign(p.servers[8]!, { rack: 'R01', position: 23 }),
  },
  {
    rule: 'storage-capacity-balance',
    path: '/servers/7/disks',
    breakIt: (p) => p.servers[8]!.disks.forEach((d) => d.use === 'ceph-osd' && (d.sizeGB = 1920)),
  },
  {
    rule: 'storage-osd-mixed-media',
    path: '/servers/7/disks/2/type',
    breakIt: (p) => void (p.servers[9]!.disks[2]!.type = 'hdd'),
  },
  // kubernetes
  {
    rule: 'k8s-version-supported',
    path: '/kubernetes/version',
    breakIt: (p) => void (p.kubernetes.version = '1.25.3'),
  },
  {
    rule: 'k8s-version-supported',
    path: '/kubernetes/version',
    breakIt: (p) => void (p.kubernetes.version = 'v1.40.0'),
  },
  {
    rule: 'k8s-vip-management',
    path: '/kubernetes/controlPlaneVip',
    breakIt: (p) => void (p.kubernetes.controlPlaneVip = '10.20.0.5'),
  },
  {
    rule: 'k8s-pod-cidr-overlap',
    path: '/kubernetes/podCidr',
    breakIt: (p) => void (p.kubernetes.podCidr = '10.20.0.0/16'),
  },
  {
    rule: 'k8s-service-cidr-overlap',
    path: '/kubernetes/serviceCidr',
    breakIt: (p) => void (p.kubernetes.serviceCidr = '10.0.0.0/12'),
  },
  {
    rule: 'k8s-pod-service-overlap',
    path: '/kubernetes/serviceCidr',
    breakIt: (p) => void (p.kubernetes.podCidr = '10.96.0.0/16'),
  },
  {
    rule: 'k8s-service-cidr-too-large',
    path: '/kubernetes/serviceCidr',
    breakIt: (p) => void (p.kubernetes.serviceCidr = '10.64.0.0/10'),
  },
  {
    rule: 'k8s-service-cidr-too-small',
    path: '/kubernetes/serviceCidr',
    breakIt: (p) => void (p.kubernetes.serviceCidr = '10.96.0.0/26'),
  },
  {
    rule: 'k8s-pod-cidr-size',
    path: '/kubernetes/podCidr',
    breakIt: (p) => void (p.kubernetes.podCidr = '10.244.0.0/26'),
  },
  {
    rule: 'k8s-cidr-host-bits',
    path: '/kubernetes/podCidr',
    breakIt: (p) => void (p.kubernetes.podCidr = '10.244.1.0/16'),
  },
  {
    rule: 'k8s-cidr-public',
    path: '/kubernetes/podCidr',
    breakIt: (p) => void (p.kubernetes.podCidr = '100.0.0.0/16'),
  },
  // openstack
  {
    rule: 'openstack-provider-network',
    path: '/networks',
    breakIt: (p) => void (p.networks[3]!.purpose = 'tenant'),
  },
  {
    rule: 'openstack-public-vip-network',
    path: '/openstack/publicVip',
    breakIt: (p) => void (p.openstack.publicVip = '10.20.0.5'),
  },
  {
    rule: 'openstack-release-supported',
    path: '/openstack/release',
    breakIt: (p) => void (p.openstack.release = '2023.1'),
  },
  {
    rule: 'openstack-region-format',
    path: '/openstack/region',
    breakIt: (p) => void (p.openstack.region = 'Region One'),
  },
  // provider network (rules/provider-network.ts)
  {
    rule: 'compute-provider-uplink',
    path: '/servers/3/nics',
    breakIt: (p) => void delete p.servers[3]!.nics[2]!.tagged,
  },
  {
    rule: 'compute-provider-uplink',
    path: '/servers/4/nics',
    // On a bond, untagged elsewhere: only the server without it is reported.
    breakIt: (p) => {
      p.servers[3]!.nics[2]!.tagged = [];
      p.servers[3]!.bonds = [
        { name: 'bond0', mode: 'active-backup', members: ['ens1f1'], network: 'provider' },
      ];
      p.servers[3]!.nics[2]!.network = undefined;
      p.servers[4]!.nics[2]!.tagged = ['tenant'];
      p.servers[4]!.nics[2]!.network = undefined;
    },
  },
  {
    rule: 'compute-provider-no-address',
    path: '/servers/5/addresses/provider',
    breakIt: (p) => void (p.servers[5]!.addresses.provider = '203.0.113.40'),
  },
  {
    rule: 'openstack-external-network',
    path: '/openstack',
    breakIt: (p) => void delete p.openstack.externalNetwork,
  },
  {
    rule: 'external-network-range',
    path: '/openstack/externalNetwork/floatingRange/end',
    breakIt: (p) => void (p.openstack.externalNetwork!.floatingRange.end = '203.0.113.255'),
  },
  {
    rule: 'external-network-range',
    path: '/openstack/externalNetwork/floatingRange',
    breakIt: (p) =>
      void (p.openstack.externalNetwork!.floatingRange = {
        start: '203.0.113.200',
        end: '203.0.113.150',
      }),
  },
  {
    rule: 'external-network-range-free',
    path: '/openstack/externalNetwork/floatingRange',
    // Over the servers' pool (ctl-01 holds 203.0.113.11) and the public VIP .5.
    breakIt: (p) => void (p.openstack.externalNetwork!.floatingRange.start = '203.0.113.2'),
  },
  {
    rule: 'external-network-router-gateway',
    path: '/openstack/externalNetwork/router',
    breakIt: (p) => void delete p.networks.find((n) => n.purpose === 'provider')!.gateway,
  },
  // access
  {
    rule: 'access-user-format',
    path: '/access/user',
    breakIt: (p) => void (p.access.user = 'Admin User'),
  },
  {
    rule: 'access-user-format',
    path: '/servers/2/ssh/user',
    breakIt: (p) => void (p.servers[2]!.ssh = { user: '$(reboot)' }),
  },
  { rule: 'access-user-root', path: '/access/user', breakIt: (p) => void (p.access.user = 'root') },
  {
    rule: 'jump-host-format',
    path: '/access/jumpHost/address',
    breakIt: (p) => void (p.access.jumpHost = { address: 'bastion:2222' }),
  },
  {
    rule: 'jump-host-in-plan',
    path: '/access/jumpHost/address',
    breakIt: (p) => void (p.access.jumpHost = { address: '10.10.0.11' }),
  },
  {
    rule: 'jump-host-in-plan',
    path: '/access/jumpHost/address',
    breakIt: (p) => void (p.access.jumpHost = { address: 'ctl-02' }),
  },
  {
    rule: 'ssh-address-format',
    path: '/servers/0/ssh/address',
    breakIt: (p) => void (p.servers[0]!.ssh = { address: '10.10.0.11 -p 22' }),
  },
  {
    rule: 'ssh-endpoint-unique',
    path: '/servers/1/ssh',
    breakIt: (p) => void (p.servers[1]!.ssh = { address: '10.10.0.11' }),
  },
  // air-gap
  {
    rule: 'airgap-ntp-internal',
    path: '/site/ntp/0',
    breakIt: (p) => Object.assign(p.site, { airGapped: true, ntp: ['pool.ntp.org', '10.10.0.3'] }),
  },
  {
    rule: 'airgap-dns-internal',
    path: '/site/dns/0',
    breakIt: (p) => Object.assign(p.site, { airGapped: true, dns: ['8.8.8.8', '10.10.0.3'] }),
  },
  {
    rule: 'airgap-jump-host-internal',
    path: '/access/jumpHost/address',
    breakIt: (p) => {
      p.site.airGapped = true;
      p.access.jumpHost = { address: 'bastion.example.net' };
    },
  },
  {
    rule: 'airgap-ssh-internal',
    path: '/servers/0/ssh/address',
    breakIt: (p) => {
      p.site.airGapped = true;
      p.servers[0]!.ssh = { address: '198.51.100.7' };
    },
  },
  // acknowledgements
  {
    rule: 'acknowledgement-invalid',
    path: '/acknowledgements/0/rule',
    breakIt: (p) =>
      void (p.acknowledgements = [{ rule: 'controler-spread', reason: 'two racks only' }]),
  },
  {
    rule: 'acknowledgement-invalid',
    path: '/acknowledgements/1/rule',
    breakIt: (p) =>
      void (p.acknowledgements = [
        { rule: 'ntp-count', reason: 'the customer has two' },
        { rule: 'hostname-unique', reason: 'errors cannot be silenced' },
      ]),
  },
];

describe('the demo plan', () => {
  it('validates with no findings at all', () => {
    expect(validatePlan(demo())).toEqual([]);
  });
});

describe('each rule catches a broken demo plan', () => {
  it.each(CASES.map((c) => [c.rule, c.path, c] as const))('%s at %s', (rule, path, c) => {
    const plan = demo();
    c.breakIt(plan);
    const findings = validatePlan(plan);
    const hit = findings.find((f) => f.rule === rule && f.path === path);
    expect(hit, JSON.stringify(findings.map((f) => [f.rule, f.path]))).toBeDefined();
    const spec = RULES.find((r) => r.id === rule)!;
    expect(hit!.severity).toBe(spec.severity);
    // The finding carries the family its rule declares: fronts place it by that, not its id.
    expect(hit!.family).toBe(spec.family);
    expect(hit!.message.length).toBeGreaterThan(10);
    expect(hit!.hint.length).toBeGreaterThan(10);
  });

  it('gives the wizard a hint without CLI commands wherever the hint names one', () => {
    for (const c of CASES) {
      const plan = demo();
      c.breakIt(plan);
      for (const f of validatePlan(plan)) {
        if (!/`ustart /.test(f.hint)) continue;
        expect(f.ui?.hint, `${f.rule}: ${f.hint}`).toBeDefined();
        expect(f.ui!.hint).not.toMatch(/ustart|servers\[/);
      }
    }
    const plan = demo();
    delete plan.servers[0]!.addresses.storage;
    const pending = validatePlan(plan).find((f) => f.rule === 'address-ipam-pending');
    expect(pending?.ui).toEqual({
      hint: 'Press Run IPAM to take it from the pool, or type one by hand.',
      action: 'ipam',
    });
  });

  it('has a breaking case for every rule', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    expect(RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([]);
  });
});

describe('the rule set', () => {
  it('has unique kebab-case ids, a known family, a description and a fix for every rule', () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of RULES) {
      expect(r.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(RULE_FAMILIES).toContain(r.family);
      expect(r.description).toMatch(/\.$/);
      expect(r.fix.length).toBeGreaterThan(5);
    }
    expect(RULES.length).toBeGreaterThanOrEqual(45);
  });

  it('gives every finding the family of its rule, on every broken plan', () => {
    const familyOf = new Map(RULES.map((r) => [r.id, r.family]));
    let seen = 0;
    for (const c of CASES) {
      const plan = demo();
      c.breakIt(plan);
      for (const f of validatePlan(plan)) {
        expect(f.family, f.rule).toBe(familyOf.get(f.rule));
        seen++;
      }
    }
    expect(seen).toBeGreaterThan(CASES.length);
  });

  it('covers every family', () => {
    const families = new Set(RULES.map((r) => r.family));
    expect([...RULE_FAMILIES].filter((f) => !families.has(f))).toEqual([]);
  });

  it('is listed in docs/validation-rules.md exactly as generated', async () => {
    const doc = await readFile(RULES_DOC, 'utf8');
    for (const r of RULES) expect(doc).toContain(`| \`${r.id}\` | ${r.severity} |`);
    expect(doc, 'run `node bin/run-ts.mjs src/plan/validate/rules-doc.ts`').toBe(rulesMarkdown());
  });
});

describe('acknowledgements', () => {
  it('marks acknowledged warnings and stops counting them', () => {
    const plan = demo();
    production(plan);
    const before = validatePlan(plan);
    const mirrors = before.filter((f) => f.rule === 'os-disk-mirror');
    expect(mirrors.map((f) => f.path)).toEqual([
      '/servers/3/disks/0',
      '/servers/4/disks/0',
      '/servers/5/disks/0',
      '/servers/6/disks/0',
    ]);
    plan.acknowledgements = [
      { rule: 'os-disk-mirror', reason: 'compute nodes are cattle', by: 'consultant' },
      { rule: 'ntp-count', path: '/site/ntp', reason: 'the customer has two NTP servers' },
    ];
    const after = validatePlan(plan);
    for (const f of after.filter((x) => x.rule === 'os-disk-mirror')) {
      expect(f.acknowledged).toEqual({ reason: 'compute nodes are cattle', by: 'consultant' });
    }
    expect(after.find((f) => f.rule === 'ntp-count')?.acknowledged?.reason).toMatch(/two NTP/);
    expect(countBySeverity(after).warning).toBe(countBySeverity(before).warning - 4);
    expect(countBySeverity(after).info).toBe(countBySeverity(before).info - 1);
    expect(after.filter((f) => f.rule === 'acknowledgement-invalid')).toEqual([]);
  });

  it('acknowledges only the finding at the given path', () => {
    const plan = demo();
    production(plan);
    plan.acknowledgements = [
      { rule: 'os-disk-mirror', path: '/servers/4/disks/0', reason: 'spare disk ordered' },
    ];
    const acked = validatePlan(plan)
      .filter((f) => f.rule === 'os-disk-mirror')
      .map((f) => [f.path, Boolean(f.acknowledged)]);
    expect(acked).toEqual([
      ['/servers/3/disks/0', false],
      ['/servers/4/disks/0', true],
      ['/servers/5/disks/0', false],
      ['/servers/6/disks/0', false],
    ]);
  });

  it('cannot silence an error', () => {
    const plan = demo();
    plan.servers[1]!.hostname = 'ctl-01';
    plan.acknowledgements = [{ rule: 'hostname-unique', reason: 'we want it so' }];
    const findings = validatePlan(plan);
    const dup = findings.find((f) => f.rule === 'hostname-unique');
    expect(dup).toMatchObject({ severity: 'error', path: '/servers/1/hostname' });
    expect(dup!.acknowledged).toBeUndefined();
    expect(countBySeverity(findings).error).toBe(1);
    expect(findings.find((f) => f.rule === 'acknowledgement-invalid')?.message).toMatch(
      /errors cannot be acknowledged/,
    );
  });
});

describe('rack loss and quorum', () => {
  const quorumFindings = (p: Plan) => validatePlan(p).filter((f) => f.rule === 'rack-loss-quorum');

  it('names the rack, its controllers and the majority etcd and the monitors need', () => {
    const plan = demo();
    Object.assign(plan.servers[2]!, { rack: 'R01', position: 38 });
    const [f, ...rest] = quorumFindings(plan);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: 'warning', path: '/servers/0/rack' });
    expect(f!.message).toBe(
      'losing rack R01 stops the control plane: it holds ctl-01 and ctl-03, 2 of the 3 controllers; etcd needs 2 of 3, the Ceph monitors need 2 of 3',
    );
    // Two racks hold all servers, so one per rack needs another rack.
    expect(f!.hint).toMatch(/3 controllers, 2 racks with servers: add a rack/);
  });

  it('sees the Ceph monitors at risk where etcd keeps its quorum', () => {
    const plan = demo();
    plan.servers[3]!.roles.push('controller'); // cmp-01, R01
    plan.servers[4]!.roles.push('controller'); // cmp-02, R02
    const findings = quorumFindings(plan);
    expect(findings.map((f) => f.path)).toEqual(['/servers/0/rack', '/servers/1/rack']);
    expect(findings[0]!.message).toBe(
      'losing rack R01 can stop Ceph: it holds ctl-01 and cmp-01, 2 of the 5 controllers; it can hold 2 of the 3 Ceph monitors (the scheduler picks their controllers), which need 2',
    );
  });

  it('counts half of an even number of controllers as a lost quorum', () => {
    const plan = demo();
    plan.servers[3]!.roles.push('controller'); // cmp-01 in R01: R01 holds 2 of 4
    expect(quorumFindings(plan).map((f) => f.path)).toEqual(['/servers/0/rack']);
  });

  it('leaves one rack, and all controllers in one rack, to other rules', () => {
    const oneRack = demo();
    for (const s of oneRack.servers) s.rack = 'R01';
    expect(quorumFindings(oneRack)).toEqual([]);
    const together = demo();
    Object.assign(together.servers[1]!, { rack: 'R01', position: 41 });
    Object.assign(together.servers[2]!, { rack: 'R01', position: 38 });
    const found = validatePlan(together).map((f) => f.rule);
    expect(found).toContain('controller-spread');
    expect(found).not.toContain('rack-loss-quorum');
  });

  it('tells an acknowledgement of the retired controller-rack-quorum what replaced it', () => {
    const plan = demo();
    plan.acknowledgements = [{ rule: 'controller-rack-quorum', reason: 'two racks only' }];
    const f = validatePlan(plan).find((x) => x.rule === 'acknowledgement-invalid');
    expect(f?.message).toMatch(/replaced by "rack-loss-quorum"/);
  });
});

describe('findings', () => {
  it('come errors first, then warnings, then info', () => {
    const plan = demo();
    production(plan);
    plan.servers[1]!.hostname = 'ctl-01';
    plan.servers[3]!.roles = [];
    const order = { error: 0, warning: 1, info: 2 };
    const severities = validatePlan(plan).map((f) => order[f.severity]);
    expect(severities.length).toBeGreaterThan(3);
    expect(severities).toEqual([...severities].sort((a, b) => a - b));
  });

  it('name the server, network or rack concerned', () => {
    const plan = demo();
    plan.servers[5]!.position = 31;
    plan.servers[0]!.addresses.storage = '10.10.0.99';
    plan.racks[0]!.powerKw = 2;
    const byRule = Object.fromEntries(validatePlan(plan).map((f) => [f.rule, f.message]));
    expect(byRule['rack-unit-overlap']).toMatch(/cmp-03 .* overlaps server cmp-01 .* in rack R01/);
    expect(byRule['address-inside-network']).toMatch(
      /ctl-01 is outside network "storage".*lies in network "mgmt"/,
    );
    expect(byRule['rack-power-budget']).toMatch(/rack R01 draws 4\.0 kW of its 2 kW budget/);
  });
});
