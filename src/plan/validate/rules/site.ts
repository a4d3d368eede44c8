/** Rules about the site as a whole: its name, domain, time and name service. */
import { pointer } from '../../finding.js';
import type { Rule } from '../rule.js';
import { isDnsName, isHostOrAddress, plural, repeats } from '../names.js';

const duplicatesIn = (list: readonly string[]) => repeats(list, (entry) => entry.toLowerCase());

export const siteRules: Rule[] = [
  {
    id: 'site-name-format',
    severity: 'warning',
    family: 'site',
    description:
      'The site name is used in file, bundle and report names: letters, digits, dots, hyphens and underscores only.',
    fix: 'Rename the site to something like "musterbau-stuttgart".',
    check({ plan }, report) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(plan.site.name)) {
        report(
          pointer('site', 'name'),
          `site name "${plan.site.name}" contains characters that are awkward in file names`,
          'Use letters, digits, dots, hyphens and underscores, such as "musterbau-stuttgart"; the customer\'s full name goes in site.customer.',
        );
      }
    },
  },
  {
    id: 'site-domain-format',
    severity: 'error',
    family: 'site',
    description: 'The site domain is a valid DNS name (RFC 1123 labels, at most 253 characters).',
    fix: 'Write the domain the hosts live in, such as cloud.example.com.',
    check({ plan }, report) {
      if (!isDnsName(plan.site.domain)) {
        report(
          pointer('site', 'domain'),
          `site domain "${plan.site.domain}" is not a valid DNS name`,
          'Use dot-separated labels of letters, digits and hyphens, such as "cloud.musterbau.example".',
        );
      }
    },
  },
  {
    id: 'site-domain-local',
    severity: 'warning',
    family: 'site',
    description:
      'The site domain does not end in .local, which multicast DNS (Avahi, Bonjour) claims.',
    fix: 'Use a domain the customer owns, such as cloud.customer.example, or a subdomain of it.',
    check({ plan }, report) {
      if (/\.local\.?$/i.test(plan.site.domain) || /^local\.?$/i.test(plan.site.domain)) {
        report(
          pointer('site', 'domain'),
          `site domain "${plan.site.domain}" ends in .local, which mDNS resolvers answer themselves`,
          'Use a subdomain of a domain the customer owns, such as "cloud.musterbau.de"; .local lookups can bypass the site DNS.',
        );
      }
    },
  },
  {
    id: 'ntp-missing',
    severity: 'error',
    family: 'site',
    description: 'At least one NTP server is listed: etcd, Ceph and TLS fail when clocks drift.',
    fix: "Add the customer's NTP servers to site.ntp.",
    check({ plan }, report) {
      if (plan.site.ntp.length === 0) {
        report(
          pointer('site', 'ntp'),
          'no NTP server is listed in site.ntp',
          'Ask the customer for their NTP servers and list them; Ceph monitors and etcd refuse to work with drifting clocks.',
        );
      }
    },
  },
  {
    id: 'dns-missing',
    severity: 'error',
    family: 'site',
    description: 'At least one DNS resolver is listed.',
    fix: "Add the customer's DNS resolvers to site.dns.",
    check({ plan }, report) {
      if (plan.site.dns.length === 0) {
        report(
          pointer('site', 'dns'),
          'no DNS resolver is listed in site.dns',
          'Ask the customer for their DNS resolvers (IPv4 addresses) and list them.',
        );
      }
    },
  },
  {
    id: 'ntp-redundancy',
    severity: 'warning',
    family: 'site',
    description: 'A production site lists at least two NTP servers, so one can fail.',
    fix: 'Add a second NTP server.',
    check({ plan, production }, report) {
      if (production && plan.site.ntp.length === 1) {
        report(
          pointer('site', 'ntp'),
          'this production site has a single NTP server; when it fails the clocks drift apart',
          'List at least two NTP servers (three lets chrony outvote a bad one).',
        );
      }
    },
  },
  {
    id: 'dns-redundancy',
    severity: 'warning',
    family: 'site',
    description: 'A production site lists at least two DNS resolvers, so one can fail.',
    fix: 'Add a second DNS resolver.',
    check({ plan, production }, report) {
      if (production && plan.site.dns.length === 1) {
        report(
          pointer('site', 'dns'),
          'this production site has a single DNS resolver; when it fails name resolution stops',
          'List at least two DNS resolvers.',
        );
      }
    },
  },
  {
    id: 'ntp-duplicate',
    severity: 'warning',
    family: 'site',
    description: 'No NTP server is listed twice.',
    fix: 'Remove the repeated entry.',
    check({ plan }, report) {
      for (const { index, first } of duplicatesIn(plan.site.ntp)) {
        report(
          pointer('site', 'ntp', index),
          `NTP server "${plan.site.ntp[index]}" is already listed as site.ntp[${first}]`,
          'Remove the repeated entry; it adds no redundancy.',
        );
      }
    },
  },
  {
    id: 'dns-duplicate',
    severity: 'warning',
    family: 'site',
    description: 'No DNS resolver is listed twice.',
    fix: 'Remove the repeated entry.',
    check({ plan }, report) {
      for (const { index, first } of duplicatesIn(plan.site.dns)) {
        report(
          pointer('site', 'dns', index),
          `DNS resolver ${plan.site.dns[index]} is already listed as site.dns[${first}]`,
          'Remove the repeated entry; it adds no redundancy.',
        );
      }
    },
  },
  {
    id: 'ntp-format',
    severity: 'error',
    family: 'site',
    description: 'Each NTP server is an IPv4 address or a DNS host name.',
    fix: 'Write an address such as 10.10.0.2 or a name such as ntp1.example.com.',
    check({ plan }, report) {
      plan.site.ntp.forEach((entry, i) => {
        if (!isHostOrAddress(entry)) {
          report(
            pointer('site', 'ntp', i),
            `NTP server "${entry}" is neither an IPv4 address nor a host name`,
            'Write one server per entry, as an address such as 10.10.0.2 or a name such as ntp1.musterbau.example.',
          );
        }
      });
    },
  },
  {
    id: 'dns-loopback',
    severity: 'error',
    family: 'site',
    description:
      'DNS resolvers are real servers, not a loopback or unspecified address (which would point every host at itself).',
    fix: "List the customer's resolvers, not 127.0.0.53 or 0.0.0.0.",
    check({ plan, ip }, report) {
      plan.site.dns.forEach((entry, i) => {
        const addr = ip(entry);
        if (addr !== undefined && (addr >>> 24 === 127 || addr >>> 24 === 0)) {
          report(
            pointer('site', 'dns', i),
            `DNS resolver ${entry} is ${addr >>> 24 === 0 ? 'an unspecified' : 'a loopback'} address: every host would ask itself`,
            "List the addresses of the customer's DNS servers as reachable from the management network.",
          );
        }
      });
    },
  },
  {
    id: 'ntp-count',
    severity: 'info',
    family: 'site',
    description: 'Three or more NTP servers let chrony outvote one that is wrong, not just absent.',
    fix: 'List three or four NTP servers.',
    check({ plan, production }, report) {
      if (production && plan.site.ntp.length === 2) {
        report(
          pointer('site', 'ntp'),
          `this production site lists ${plural(2, 'NTP server')}; with two, a server with a wrong time cannot be outvoted`,
          'Add a third NTP server if the customer has one.',
        );
      }
    },
  },
];
