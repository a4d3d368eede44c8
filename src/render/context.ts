/**
 * What every generator needs to know about one host: the plan, the server, and the facts
 * derived from the plan once (first controller, management address, interfaces), so each
 * generator stays a small pure function of its context.
 */
import { UstartError } from '../errors.js';
import type { Network, Plan, Role, Server } from '../plan/schema.js';

/** Where the runbook keeps its files on a host. */
export const REMOTE = {
  root: '/var/lib/ustart',
  lib: '/var/lib/ustart/lib.sh',
  bundle: '/var/lib/ustart/bundle',
  hosts: '/var/lib/ustart/hosts',
  steps: '/var/lib/ustart/steps',
  inputs: '/var/lib/ustart/in',
  outputs: '/var/lib/ustart/out',
} as const;

export interface SiteContext {
  plan: Plan;
  /** Servers that take part in the install (with at least one role), in plan order. */
  members: readonly Server[];
  controllers: readonly Server[];
  firstController: Server;
  management: Network;
  storage: Network | undefined;
  /** `VIP:6443`. */
  controlPlaneEndpoint: string;
  /** Kubernetes version without a leading `v`. */
  k8sVersion: string;
}

export interface HostContext extends SiteContext {
  server: Server;
  roles: ReadonlySet<Role>;
  isController: boolean;
  isFirstController: boolean;
  /** The host's address on the management network. */
  managementIp: string;
  /** The NIC cabled to the management network. */
  managementNic: string;
}

export function siteContext(plan: Plan): SiteContext {
  const members = plan.servers.filter((s) => s.roles.length > 0);
  const controllers = members.filter((s) => s.roles.includes('controller'));
  const firstController = controllers[0];
  if (!firstController) {
    throw new UstartError(
      'PlanInvalid',
      'the plan has no server with the controller role; assign it to at least one server before rendering',
    );
  }
  const management = plan.networks.find((n) => n.purpose === 'management');
  if (!management) {
    throw new UstartError(
      'PlanInvalid',
      'the plan has no management network; add one (purpose: management) before rendering',
    );
  }
  return {
    plan,
    members,
    controllers,
    firstController,
    management,
    storage: plan.networks.find((n) => n.purpose === 'storage'),
    controlPlaneEndpoint: `${plan.kubernetes.controlPlaneVip}:6443`,
    k8sVersion: plan.kubernetes.version.replace(/^v/, ''),
  };
}

export function hostContext(site: SiteContext, server: Server): HostContext {
  const managementIp = server.addresses[site.management.name];
  if (!managementIp) {
    throw new UstartError(
      'PlanInvalid',
      `server ${server.hostname} has no address on the management network "${site.management.name}"; run IPAM or add it under servers[].addresses`,
    );
  }
  const nic = server.nics.find((n) => n.network === site.management.name);
  return {
    ...site,
    server,
    roles: new Set(server.roles),
    isController: server.roles.includes('controller'),
    isFirstController: server === site.firstController,
    managementIp,
    managementNic: nic?.name ?? 'eth0',
  };
}

/** The servers a named or role target selects, in plan order. */
export function serversOf(
  site: SiteContext,
  target: 'all' | 'first-controller' | 'other-controllers' | 'workers' | { roles: readonly Role[] },
): Server[] {
  if (target === 'all') return [...site.members];
  if (target === 'first-controller') return [site.firstController];
  if (target === 'other-controllers') return site.controllers.slice(1);
  if (target === 'workers') return site.members.filter((s) => !s.roles.includes('controller'));
  return site.members.filter((s) => s.roles.some((r) => target.roles.includes(r)));
}
