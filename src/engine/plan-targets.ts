/**
 * From a site plan to what the engine needs: each server's SSH target (or a HostRoute that
 * reaches a plan's hosts another way, the demo lab), a target resolver and the cluster lock's
 * host. The SSH layer below knows ~/.ssh/config, not the plan schema.
 */
import { UstartError } from '../errors.js';
import type { Plan, Server } from '../plan/index.js';
import { resolveTarget, type SshConfig } from '../ssh/targets.js';
import type { HostTarget, Transport } from '../ssh/transport.js';
import type { TargetResolver } from './graph.js';

/**
 * The transport target for `server`: the plan first (its `ssh` endpoint, then the management
 * address), then ~/.ssh/config, then `access.user` and port 22 (src/ssh/targets.ts).
 */
export function targetFromPlan(plan: Plan, server: Server, config: SshConfig): HostTarget {
  const planned = server.ssh ?? {};
  const mgmt = plan.networks.find((n) => n.purpose === 'management');
  const fallbackAddress = mgmt ? server.addresses[mgmt.name] : undefined;
  return resolveTarget(
    {
      name: server.hostname,
      ...planned,
      ...(fallbackAddress ? { fallbackAddress } : {}),
      defaultUser: plan.access.user,
      ...(plan.access.jumpHost ? { jumpHost: plan.access.jumpHost } : {}),
    },
    config,
  );
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

/**
 * Hosts reached another way than by the plan's addresses: the demo lab (src/demo/session.ts
 * implements it, the service's src/app/access.ts asks it first). A plan the route owns gets
 * its targets and transport from it (and its runs are demo runs); every other plan's
 * transport is fenced by it, so neither reaches the other's hosts.
 */
export interface HostRoute {
  /**
   * True for a plan the route reaches; false for a real plan (fenced). Rejects, with the
   * reason and what to do, for a plan that must reach neither (one saved in the demo
   * workspace that is not the demo plan).
   */
  owns(planFile: string): Promise<boolean>;
  targets(planFile: string, plan: Plan): Promise<Map<string, HostTarget>>;
  transport(planFile: string, plan: Plan): Promise<Transport>;
  /** A real plan's transport, refusing the route's hosts. */
  fence(transport: Transport): Transport;
}
