/** Rules about how uStart reaches the servers: login users, jump host, SSH endpoints. */
import { pointer } from '../../finding.js';
import type { Rule } from '../rule.js';
import { LOGIN_NAME, isHostOrAddress } from '../names.js';

export const accessRules: Rule[] = [
  {
    id: 'access-user-format',
    severity: 'error',
    family: 'access',
    description: 'Login users (access, jump host, per server) are valid POSIX user names.',
    fix: 'Use a lower-case user name such as ubuntu or ustart.',
    check({ plan }, report) {
      const check = (user: string | undefined, ...path: Array<string | number>) => {
        if (user !== undefined && !LOGIN_NAME.test(user)) {
          report(
            pointer(...path),
            `login user ${JSON.stringify(user)} is not a valid user name`,
            'Use lower-case letters, digits, hyphens and underscores, starting with a letter, at most 32 characters.',
          );
        }
      };
      check(plan.access.user, 'access', 'user');
      check(plan.access.jumpHost?.user, 'access', 'jumpHost', 'user');
      plan.servers.forEach((s, i) => check(s.ssh?.user, 'servers', i, 'ssh', 'user'));
    },
  },
  {
    id: 'access-user-root',
    severity: 'warning',
    family: 'access',
    description: 'uStart logs in as an unprivileged user with sudo, not as root.',
    fix: "Use the customer's admin user with sudo rights.",
    check({ plan }, report) {
      if (plan.access.user === 'root') {
        report(
          pointer('access', 'user'),
          'uStart is set to log in as root',
          'Use an unprivileged user with sudo (such as ubuntu); many sites forbid root logins over SSH, and sudo leaves an audit trail.',
        );
      }
    },
  },
  {
    id: 'jump-host-format',
    severity: 'error',
    family: 'access',
    description: 'The jump host address is an IPv4 address or a host name.',
    fix: 'Write the jump host as an address such as 192.0.2.10 or a name such as bastion.example.com.',
    check({ plan }, report) {
      const jump = plan.access.jumpHost;
      if (jump && !isHostOrAddress(jump.address)) {
        report(
          pointer('access', 'jumpHost', 'address'),
          `jump host address ${JSON.stringify(jump.address)} is neither an IPv4 address nor a host name`,
          'Write the address or DNS name only; the port and user have their own fields.',
        );
      }
    },
  },
  {
    id: 'jump-host-in-plan',
    severity: 'warning',
    family: 'access',
    description:
      'The jump host is not one of the servers being installed (it would be rebooted mid-install).',
    fix: 'Use a machine outside the plan as jump host.',
    check({ plan, addresses }, report) {
      const jump = plan.access.jumpHost;
      if (!jump) return;
      const target = jump.address.toLowerCase();
      const server =
        plan.servers.find(
          (s) =>
            s.hostname === target ||
            `${s.hostname}.${plan.site.domain}`.toLowerCase() === target ||
            s.ssh?.address === jump.address,
        )?.hostname ??
        addresses.find((a) => a.kind === 'address' && a.text === jump.address)?.hostname;
      if (server) {
        report(
          pointer('access', 'jumpHost', 'address'),
          `the jump host ${jump.address} is server ${server}, which the install reconfigures and reboots`,
          "Use a machine outside the plan (the customer's bastion or an admin VM) as jump host.",
        );
      }
    },
  },
  {
    id: 'ssh-address-format',
    severity: 'error',
    family: 'access',
    description: "A server's ssh.address is an IPv4 address or a host name.",
    fix: 'Write an address such as 10.10.0.11, or remove ssh.address to use the management address.',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        const addr = s.ssh?.address;
        if (addr !== undefined && !isHostOrAddress(addr)) {
          report(
            pointer('servers', i, 'ssh', 'address'),
            `ssh.address ${JSON.stringify(addr)} of ${s.hostname} is neither an IPv4 address nor a host name`,
            'Write the address or name only (the port has its own field), or remove it to use the management address.',
          );
        }
      });
    },
  },
  {
    id: 'ssh-endpoint-unique',
    severity: 'warning',
    family: 'access',
    description: 'No two servers are reached at the same SSH address and port.',
    fix: 'Correct ssh.address or ssh.port of one of them.',
    check({ plan, networkOfPurpose }, report) {
      const mgmt = networkOfPurpose('management')?.network.name;
      const seen = new Map<string, string>();
      plan.servers.forEach((s, i) => {
        const addr = s.ssh?.address ?? (mgmt === undefined ? undefined : s.addresses[mgmt]);
        if (addr === undefined) return;
        const key = `${addr.toLowerCase()}:${s.ssh?.port ?? 22}`;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, s.hostname);
        else
          report(
            pointer('servers', i, 'ssh'),
            `server ${s.hostname} is reached at ${key}, like server ${first}; uStart would install one server twice`,
            'Correct ssh.address or ssh.port so each server has its own endpoint.',
          );
      });
    },
  },
];
