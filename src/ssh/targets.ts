/**
 * Where to connect for a host: what uStart was told first, then the consultant's
 * `~/.ssh/config` (User, Port, HostName, IdentityFile, ProxyJump), then defaults (the
 * default user, port 22). What uStart was told wins where both say something. The site
 * plan's side of it (which server fields say what) is `targetFromPlan` in
 * src/engine/plan-targets.ts: this layer knows SSH, not the plan schema.
 */
import { UstartError } from '../errors.js';
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

/** An endpoint as uStart was told it, before ~/.ssh/config fills the gaps. */
export interface Endpoint {
  address: string;
  port?: number;
  user?: string;
}

/** A host to reach, as uStart was told it; ~/.ssh/config fills in what this leaves open. */
export interface PlannedHost {
  /** uStart's name for the host; also its ~/.ssh/config alias when no address is given. */
  name: string;
  /** An address or ~/.ssh/config alias given explicitly; wins over the config's HostName. */
  address?: string;
  port?: number;
  user?: string;
  /** Where to connect when neither `address` nor the config's HostName says (a management address). */
  fallbackAddress?: string;
  /** The login user when neither the host nor the config names one. */
  defaultUser: string;
  /** The jump host given explicitly; without it, the config's ProxyJump (one hop) applies. */
  jumpHost?: Endpoint;
}

/** The transport target for `host`, merging what uStart was told with ~/.ssh/config. */
export function resolveTarget(host: PlannedHost, config: SshConfig): HostTarget {
  const alias = host.address ?? host.name;
  const fromConfig = config.lookup(alias);
  if (fromConfig.proxyCommand && !host.jumpHost) {
    // Connecting straight to the address would bypass what the consultant configured.
    throw new UstartError(
      'InvalidArgument',
      `${fromConfig.from.proxyCommand}: ProxyCommand ${fromConfig.proxyCommand} (for ${alias}): uStart's SSH client cannot run a ProxyCommand. Give ${alias} a ProxyJump of one host instead, or set access.jumpHost in the plan.`,
    );
  }
  const address = host.address ?? fromConfig.hostName ?? host.fallbackAddress ?? alias;
  const target: HostTarget = {
    name: host.name,
    address,
    port: host.port ?? fromConfig.port ?? 22,
    user: host.user ?? fromConfig.user ?? host.defaultUser,
    ...(fromConfig.identityFiles ? { identityFiles: fromConfig.identityFiles } : {}),
  };
  const jump = host.jumpHost;
  if (jump) {
    const jc = jumpConfig(config, jump.address, host.name);
    target.jump = {
      name: jump.address,
      address: jc.hostName ?? jump.address,
      port: jump.port ?? jc.port ?? 22,
      user: jump.user ?? jc.user ?? host.defaultUser,
      ...(jc.identityFiles ? { identityFiles: jc.identityFiles } : {}),
    };
  } else if (fromConfig.proxyJump) {
    const pj = parseProxyJump(fromConfig.proxyJump, alias, fromConfig.from.proxyJump);
    const jc = jumpConfig(config, pj.host, host.name);
    target.jump = {
      name: pj.host,
      address: jc.hostName ?? pj.host,
      port: pj.port ?? jc.port ?? 22,
      user: pj.user ?? jc.user ?? host.defaultUser,
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
