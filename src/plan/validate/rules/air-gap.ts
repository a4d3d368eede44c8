/**
 * Rules for air-gapped sites: everything the install and the running cloud talk to must be
 * inside the site, since nothing outside can be reached.
 */
import { pointer } from '../../finding.js';
import { isPrivate } from '../../ipv4.js';
import type { PlanIndex } from '../plan-index.js';
import type { Rule } from '../rule.js';
import { isInternal } from '../names.js';

const internal = (index: PlanIndex, text: string) => isInternal(text, index.plan.site.domain);

export const airGapRules: Rule[] = [
  {
    id: 'airgap-ntp-internal',
    severity: 'error',
    family: 'air-gap',
    description:
      'An air-gapped site syncs time from internal NTP servers: private addresses or names under the site domain.',
    fix: "List the site's own NTP servers (a GPS clock or the customer's domain controllers).",
    check(index, report) {
      if (!index.plan.site.airGapped) return;
      index.plan.site.ntp.forEach((entry, i) => {
        if (!internal(index, entry)) {
          report(
            pointer('site', 'ntp', i),
            `NTP server ${entry} is outside the site, but the site is air-gapped`,
            `Use an NTP server inside the site: a private address, or a name under ${index.plan.site.domain}.`,
          );
        }
      });
    },
  },
  {
    id: 'airgap-dns-internal',
    severity: 'error',
    family: 'air-gap',
    description:
      'An air-gapped site resolves names with internal DNS resolvers (private addresses).',
    fix: "List the site's own DNS resolvers.",
    check(index, report) {
      if (!index.plan.site.airGapped) return;
      index.plan.site.dns.forEach((entry, i) => {
        const ip = index.ip(entry);
        if (ip !== undefined && !isPrivate(ip)) {
          report(
            pointer('site', 'dns', i),
            `DNS resolver ${entry} is a public address, but the site is air-gapped`,
            'Use the DNS resolvers inside the site (private addresses).',
          );
        }
      });
    },
  },
  {
    id: 'airgap-jump-host-internal',
    severity: 'warning',
    family: 'air-gap',
    description: 'On an air-gapped site the jump host is inside the site.',
    fix: 'Use a bastion inside the site, by private address or a name under the site domain.',
    check(index, report) {
      const jump = index.plan.access.jumpHost;
      if (!index.plan.site.airGapped || !jump || internal(index, jump.address)) return;
      report(
        pointer('access', 'jumpHost', 'address'),
        `jump host ${jump.address} is outside the site, but the site is air-gapped`,
        `Use the bastion inside the site, by private address or by a name under ${index.plan.site.domain}.`,
      );
    },
  },
  {
    id: 'airgap-ssh-internal',
    severity: 'warning',
    family: 'air-gap',
    description: 'On an air-gapped site every ssh.address is inside the site.',
    fix: "Use the servers' management addresses.",
    check(index, report) {
      if (!index.plan.site.airGapped) return;
      index.plan.servers.forEach((s, i) => {
        const addr = s.ssh?.address;
        if (addr !== undefined && !internal(index, addr)) {
          report(
            pointer('servers', i, 'ssh', 'address'),
            `ssh.address ${addr} of ${s.hostname} is outside the site, but the site is air-gapped`,
            'Remove ssh.address to use the management address, or use a private address.',
          );
        }
      });
    },
  },
];
