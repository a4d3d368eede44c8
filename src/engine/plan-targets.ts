/** From a site plan to what the engine needs: SSH targets per host and a target resolver. */
import { UstartError } from '../errors.js';
import type { Plan } from '../plan/index.js';
import type { HostTarget } from '../ssh/transport.js';
import type { TargetResolver } from './graph.js';

/**
 * SSH targets of the plan's servers: `servers[].ssh` wins, then the management address,
 * `access.user` and port 22; `access.jumpHost` is the jump for all. The SSH adapter may
 * still fill gaps from ~/.ssh/config.
 */
export function hostTargetsFromPlan(plan: Plan): Map<string, HostTarget> {
  const mgmt = plan.networks.find((n) => n.purpose === 'management')?.name;
  const j = plan.access.jumpHost;
  const jump = j && {
    name: `jump ${j.address}`,
    address: j.address,
    port: j.port ?? 22,
    user: j.user ?? plan.access.user,
  };
  const targets = new Map<string, HostTarget>();
  for (const s of plan.servers) {
    const address = s.ssh?.address ?? (mgmt ? s.addresses[mgmt] : undefined);
    if (!address) {
      throw new UstartError(
        'PlanInvalid',
        `server ${s.hostname} has no SSH address: set servers[].ssh.address or its address on the management network.`,
        { detail: { host: s.hostname } },
      );
    }
    targets.set(s.hostname, {
      name: s.hostname,
      address,
      port: s.ssh?.port ?? 22,
      user: s.ssh?.user ?? plan.access.user,
      ...(jump ? { jump } : {}),
    });
  }
  return targets;
}

/** Resolves role selectors against the plan: servers in plan order, `first-controller` the first with that role. */
export function resolverFromPlan(plan: Plan): TargetResolver {
  return (targets, step) => {
    if (targets === 'all')
      return plan.servers
        .filter((s) => s.roles.length > 0 || plan.servers.every((x) => x.roles.length === 0))
        .map((s) => s.hostname);
    if (targets === 'first-controller') {
      const first = plan.servers.find((s) => s.roles.includes('controller'));
      if (!first)
        throw new UstartError(
          'RunbookInvalid',
          `step "${step.id}" runs on the first controller, and the plan has no server with the controller role.`,
        );
      return [first.hostname];
    }
    if (Array.isArray(targets)) return [...(targets as readonly string[])];
    const roles = (targets as { roles: readonly string[] }).roles;
    return plan.servers
      .filter((s) => s.roles.some((r) => roles.includes(r)))
      .map((s) => s.hostname);
  };
}

/** The first controller's host name, where the cluster lock lives; undefined without one. */
export function firstController(plan: Plan): string | undefined {
  return plan.servers.find((s) => s.roles.includes('controller'))?.hostname;
}
