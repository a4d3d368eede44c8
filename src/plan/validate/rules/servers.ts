/** Rules about each server on its own: names, hardware, NICs. */
import { pointer } from '../../finding.js';
import type { Rule } from '../rule.js';

const RFC1123_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const serverRules: Rule[] = [
  {
    id: 'hostname-format',
    severity: 'error',
    family: 'servers',
    description: 'Host names are RFC 1123 labels: lower-case letters, digits and hyphens.',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        if (!RFC1123_LABEL.test(s.hostname)) {
          const bad = [...new Set(s.hostname.replace(/[a-z0-9-]/g, ''))].join('');
          report(
            pointer('servers', i, 'hostname'),
            `host name "${s.hostname}" is not a valid RFC 1123 name${bad ? ` (it contains ${JSON.stringify(bad)})` : ''}`,
            'Use 1–63 lower-case letters, digits and hyphens, not starting or ending with a hyphen, such as "cmp-01".',
          );
        }
      });
    },
  },
  {
    id: 'hostname-unique',
    severity: 'error',
    family: 'servers',
    description: 'Every server has its own host name.',
    check({ plan }, report) {
      const seen = new Map<string, number>();
      plan.servers.forEach((s, i) => {
        const key = s.hostname.toLowerCase();
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else
          report(
            pointer('servers', i, 'hostname'),
            `host name "${s.hostname}" is already used by servers[${first}]`,
            'Give each server its own host name.',
          );
      });
    },
  },
];
