/**
 * The per-host `env` file every runbook script sources (through lib.sh). It is the only way
 * plan values reach a script: each one quoted by shellQuote. The variables are documented in
 * assets/runbook/scripts/env.sample, which a test keeps in step with this list.
 */
import { chartPath } from '../runbook/bundle-layout.js';
import { endpointDns, endpointRecords } from '../plan/endpoints.js';
import { bom, type Bom } from './bom.js';
import { type HostContext, REMOTE } from './context.js';
import { acceptedCephWarnings, osdCount } from './generators/ceph.js';
import { ORC_INSTALL } from './generators/capi-repository.js';
import { workloadClusterName } from './generators/ugarden.js';
import { envFile, type ShellValue } from './env-file.js';

export function hostEnvVars(ctx: HostContext): Array<readonly [string, ShellValue]> {
  const { plan, server } = ctx;
  const bool = (b: boolean) => (b ? 'true' : 'false');
  return [
    ['USTART_HOST', server.hostname],
    ['USTART_FQDN', `${server.hostname}.${plan.site.domain}`],
    ['USTART_DOMAIN', plan.site.domain],
    ['USTART_SITE', plan.site.name],
    ['USTART_ROLES', [...server.roles].sort()],
    ['USTART_IS_CONTROLLER', bool(ctx.isController)],
    ['USTART_IS_FIRST_CONTROLLER', bool(ctx.isFirstController)],
    ['USTART_FIRST_CONTROLLER', ctx.firstController.hostname],
    ['USTART_MGMT_IP', ctx.managementIp],
    ['USTART_MGMT_NIC', ctx.managementNic],
    ['USTART_MGMT_CIDR', ctx.management.cidr],
    ['USTART_OS_RELEASE', plan.site.osRelease ?? 'ubuntu-24.04'],
    ['USTART_AIR_GAPPED', bool(plan.site.airGapped)],
    ['USTART_BUNDLE_DIR', REMOTE.bundle],
    ['USTART_NTP_SERVERS', plan.site.ntp],
    ['USTART_DNS_SERVERS', plan.site.dns],
    ['USTART_K8S_VERSION', ctx.k8sVersion],
    ...chartFileVars(),
    ['USTART_CONTROL_PLANE_VIP', plan.kubernetes.controlPlaneVip],
    ['USTART_CONTROL_PLANE_ENDPOINT', ctx.controlPlaneEndpoint],
    ['USTART_POD_CIDR', plan.kubernetes.podCidr],
    ['USTART_SERVICE_CIDR', plan.kubernetes.serviceCidr],
    ['USTART_NODE_NAMES', ctx.members.map((s) => s.hostname)],
    [
      'USTART_CEPH_OSD_DEVICES',
      server.disks.filter((d) => d.use === 'ceph-osd').map((d) => d.device),
    ],
    ['USTART_CEPH_OSD_TOTAL', String(osdCount(ctx))],
    ['USTART_CEPH_ACCEPTED_WARNINGS', acceptedCephWarnings(ctx)],
    ['USTART_OPENSTACK_RELEASE', plan.openstack.release],
    ['USTART_OPENSTACK_REGION', plan.openstack.region],
    ['USTART_PUBLIC_VIP', plan.openstack.publicVip],
    ['USTART_ENDPOINT_DNS', endpointDns(plan)],
    ['USTART_ENDPOINT_NAMES', endpointRecords(plan).map((r) => r.name)],
    ['USTART_GARDEN_CLUSTER', workloadClusterName(ctx)],
    ['USTART_ORC_INSTALL', ORC_INSTALL],
  ];
}

/**
 * `USTART_CHART_<NAME>`: the bundle file of each chart of the bill of materials, at the version
 * it pins (`charts/<name>-<version>.tgz`, as `bundle create` stores it), so `helm_release`
 * installs exactly that version and fails on a bundle holding another.
 */
export function chartFileVars(b: Bom = bom()): Array<readonly [string, ShellValue]> {
  return Object.entries(b.charts).map(
    ([name, c]) =>
      [
        `USTART_CHART_${name.toUpperCase().replaceAll('-', '_')}`,
        chartPath(name, c.version),
      ] as const,
  );
}

export function hostEnvFile(ctx: HostContext): string {
  return envFile(
    hostEnvVars(ctx),
    `uStart: values from the site plan for ${ctx.server.hostname}. Rendered, do not edit.`,
  );
}
