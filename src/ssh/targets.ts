/**
 * Where to connect for a planned server: the plan first, then the consultant's
 * `~/.ssh/config` (User, Port, HostName, IdentityFile, ProxyJump), then defaults
 * (`access.user`, port 22). The plan wins where both say something.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { UstartError } from '../errors.js';
import type { Plan, Server } from '../plan/schema.js';
import type { HostTarget } from './transport.js';
import { readRegularFile } from '../util/user-file.js';

/** What ~/.ssh/config says about one host. */
export interface SshConfigEntry {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  proxyJump?: string;
}

export class SshConfigFile {
  private constructor(private readonly config: SSHConfig | undefined) {}

  /** Reads `file` (default ~/.ssh/config); a missing file is an empty config. */
  static async load(file = join(homedir(), '.ssh', 'config')): Promise<SshConfigFile> {
    let text: string;
    try {
      text = await readRegularFile(file, { what: 'SSH config', encoding: 'utf8' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new SshConfigFile(undefined);
      throw new UstartError(
        'InvalidArgument',
        `cannot read SSH config ${file}: ${(e as Error).message}`,
        {
          cause: e,
          detail: { file },
        },
      );
    }
    return new SshConfigFile(SSHConfig.parse(text));
  }

  static empty(): SshConfigFile {
    return new SshConfigFile(undefined);
  }

  lookup(host: string): SshConfigEntry {
    if (!this.config) return {};
    const c = this.config.compute(host);
    const one = (k: string): string | undefined => {
      const v = c[k];
      return Array.isArray(v) ? v[0] : v;
    };
    const files = c.IdentityFile;
    const entry: SshConfigEntry = {};
    const hostName = one('HostName');
    if (hostName) entry.hostName = hostName.replace(/%h/g, host);
    const user = one('User');
    if (user) entry.user = user;
    const port = one('Port');
    if (port) entry.port = Number(port);
    if (files) entry.identityFiles = (Array.isArray(files) ? files : [files]).map(expandHome);
    const jump = one('ProxyJump');
    if (jump && jump.toLowerCase() !== 'none') entry.proxyJump = jump;
    return entry;
  }
}

function expandHome(path: string): string {
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/** Parses a ProxyJump value `[user@]host[:port]`; a chain of several jumps is refused. */
export function parseProxyJump(
  value: string,
  from: string,
): { host: string; user?: string; port?: number } {
  if (value.includes(',')) {
    throw new UstartError(
      'InvalidArgument',
      `ProxyJump "${value}" for ${from} in ~/.ssh/config chains several jump hosts; uStart supports one. Set access.jumpHost in the plan instead.`,
    );
  }
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.replace(/^ssh:\/\//, ''));
  if (!m)
    throw new UstartError(
      'InvalidArgument',
      `ProxyJump "${value}" for ${from} is not [user@]host[:port]`,
    );
  return {
    host: m[2]!.replace(/^\[|\]$/g, ''),
    ...(m[1] ? { user: m[1] } : {}),
    ...(m[3] ? { port: Number(m[3]) } : {}),
  };
}

/** The transport target for `server`, merging the plan with ~/.ssh/config. */
export function targetFromPlan(plan: Plan, server: Server, config: SshConfigFile): HostTarget {
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
    const jc = config.lookup(jump.address);
    target.jump = {
      name: jump.address,
      address: jc.hostName ?? jump.address,
      port: jump.port ?? jc.port ?? 22,
      user: jump.user ?? jc.user ?? plan.access.user,
      ...(jc.identityFiles ? { identityFiles: jc.identityFiles } : {}),
    };
  } else if (fromConfig.proxyJump) {
    const pj = parseProxyJump(fromConfig.proxyJump, alias);
    const jc = config.lookup(pj.host);
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

function managementAddress(plan: Plan, server: Server): string | undefined {
  const mgmt = plan.networks.find((n) => n.purpose === 'management');
  return mgmt ? server.addresses[mgmt.name] : undefined;
}
