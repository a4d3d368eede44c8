/** Rules about the OpenStack layer: release, region, public endpoints. */
import { pointer } from '../../finding.js';
import { contains } from '../../ipv4.js';
import type { Rule } from '../rule.js';

/** OpenStack releases the uStack operators are tested with. */
export const OPENSTACK_RELEASES = ['2024.1', '2024.2', '2025.1', '2025.2'] as const;

export const openstackRules: Rule[] = [
  {
    id: 'openstack-provider-network',
    severity: 'error',
    family: 'openstack',
    description:
      'The plan has a provider network: floating IPs, routers and the public VIP need one.',
    fix: 'Add the network the customer routes to the cloud with purpose: provider.',
    check({ networksByPurpose }, report) {
      if (!networksByPurpose.has('provider')) {
        report(
          pointer('networks'),
          'no network has purpose "provider": instances get no external connectivity and the public endpoints no network',
          'Add the externally routed network the customer gives the cloud, with purpose: provider.',
        );
      }
    },
  },
  {
    id: 'openstack-public-vip-network',
    severity: 'error',
    family: 'openstack',
    description:
      'The OpenStack public VIP lies inside the provider network (or the management network).',
    fix: 'Choose a free address of the provider network outside its pool.',
    check({ plan, networksByPurpose, ip }, report) {
      const vip = ip(plan.openstack.publicVip);
      if (vip === undefined) return;
      const candidates = [
        ...(networksByPurpose.get('provider') ?? []),
        ...(networksByPurpose.get('management') ?? []),
      ];
      if (candidates.length === 0 || candidates.some((n) => n.cidr && contains(n.cidr, vip))) {
        return;
      }
      report(
        pointer('openstack', 'publicVip'),
        `the OpenStack public VIP ${plan.openstack.publicVip} is in neither the provider nor the management network (${candidates.map((n) => n.network.cidr).join(', ')})`,
        'Choose a free address of the provider network outside its pool, where users can reach it.',
      );
    },
  },
  {
    id: 'openstack-release-supported',
    severity: 'warning',
    family: 'openstack',
    description: `The OpenStack release is one the operators are tested with (${OPENSTACK_RELEASES.join(', ')}).`,
    fix: `Use one of ${OPENSTACK_RELEASES.join(', ')}.`,
    check({ plan }, report) {
      if (!(OPENSTACK_RELEASES as readonly string[]).includes(plan.openstack.release)) {
        report(
          pointer('openstack', 'release'),
          `OpenStack release "${plan.openstack.release}" is not one this uStart installs (${OPENSTACK_RELEASES.join(', ')})`,
          `Use one of ${OPENSTACK_RELEASES.join(', ')}; write it quoted ("2025.1") so YAML keeps it a string.`,
        );
      }
    },
  },
  {
    id: 'openstack-region-format',
    severity: 'warning',
    family: 'openstack',
    description:
      'The region name is letters, digits and hyphens (it appears in endpoint URLs and clouds.yaml).',
    fix: 'Rename the region, such as RegionOne or de-stuttgart-1.',
    check({ plan }, report) {
      if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(plan.openstack.region)) {
        report(
          pointer('openstack', 'region'),
          `region name "${plan.openstack.region}" contains characters other than letters, digits and hyphens`,
          'Use a name such as RegionOne or de-stuttgart-1; clients and endpoint URLs choke on spaces and dots.',
        );
      }
    },
  },
];
