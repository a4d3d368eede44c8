/**
 * Where to connect for a planned server: the plan first, then the consultant's
 * `~/.ssh/config` (User, Port, HostName, IdentityFile, ProxyJump), then defaults
 * (`access.user`, port 22). The plan wins where both say something.
 */
import { UstartError } from '../errors.js';
import type { Plan, Server } from '../plan/schema.js';
import type { SshConfig, SshConfigEntry } from './ssh-config.js';
import type { HostTarget } from './transport.js';

export { SshConfig, type SshConfigEntry } from './ssh-config.js';

/**
 * Parses a ProxyJump value `[user@]host[:port]`. A chain of several jumps is refused: the
 * transport goes through one jump host (docs/ssh.md;
 * docs/upstream-facts.md#openssh.config.proxyjump). `where` is the config's `FILE line N`.
 */
export function parseProxyJump(
  value: string,
  from: string,
  where = '~/.ssh/config',
): { host: string; user?: string; port?: number } {
  if (value.includes(',')) {
    throw new UstartError(
      'InvalidArgument',
      `${where}: ProxyJump ${value} (for ${from}) chains ${value.split(',').length} jump hosts; uStart connects through one jump host. Give ${from} a ProxyJump of one host, or set access.jumpHost in the plan.`,
      { detail: { where, host: from } },
    );
  }
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.replace(/^ssh:\/\//, ''));
  if (!m)
    throw new UstartError(
      'InvalidArgument',
      `${where}: ProxyJump "${value}" for ${from} is not [user@]host[:port]`,
    );
  return {
    host: m[2]!.replace(/^\[|\]$/g, ''),
    ...(m[1] ? { user: m[1] } : {}),
    ...(m[3] ? { port: Number(m[3]) } : {}),
  };
}

/** The transport target for `server`, merging the plan with ~/.ssh/config. */
export function targetFromPlan(plan: Plan, server: Server, config: SshConfig): HostTarget {
  const planned = server.ssh ?? {};
  const alias = planned.address ?? server.hostname;
  const fromConfig = config.lookup(alias);
  const address =
    planned.address ?? fromConfig.hostName ?? managementAddress(plan, server) ?? alias;
  const target: HostTarget = {
    name: server.hostname,
    address,
    port: planned.port ?? fromConfig.port ?? 22,
    user: planned.user ?? fromConfig.user ?? plan.access.user,
    ...(fromConfig.identityFiles ? { identityFiles: fromConfig.identityFiles } : {}),
  };
  const jump = plan.access.jumpHost;
  if (jump) {
    const jc = jumpConfig(config, jump.address, server.hostname);
    target.jump = {
      name: jump.address,
      address: jc.hostName ?? jump.address,
      port: jump.port ?? jc.port ?? 22,
      user: jump.user ?? jc.user ?? plan.access.user,
      ...(jc.identityFiles ? { identityFiles: jc.identityFiles } : {}),
    };
  } else if (fromConfig.proxyJump) {
    const pj = parseProxyJump(fromConfig.proxyJump, alias, fromConfig.from.proxyJump);
    const jc = jumpConfig(config, pj.host, server.hostname);
    target.jump = {
      name: pj.host,
      address: jc.hostName ?? pj.host,
      port: pj.port ?? jc.port ?? 22,
      user: pj.user ?? jc.user ?? plan.access.user,
      ...(jc.identityFiles ? { identityFiles: jc.identityFiles } : {}),
    };
  }
  return target;
}

/** The jump host's own config; one that goes through a further jump is a chain, refused. */
function jumpConfig(config: SshConfig, jump: string, target: string): SshConfigEntry {
  const jc = config.lookup(jump);
  if (jc.proxyJump) {
    throw new UstartError(
      'InvalidArgument',
      `${jc.from.proxyJump}: ProxyJump ${jc.proxyJump} for the jump host ${jump} (on the way to ${target}) makes a chain of jump hosts; uStart connects through one jump host. Reach ${jump} directly, or make the last hop the jump host.`,
      { detail: { where: jc.from.proxyJump, host: jump } },
    );
  }
  return jc;
}

function managementAddress(plan: Plan, server: Server): string | undefined {
  const mgmt = plan.networks.find((n) => n.purpose === 'management');
  return mgmt ? server.addresses[mgmt.name] : undefined;
}
