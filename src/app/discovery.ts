/**
 * `bmc:discover` and `bmc:accept-certificate` (src/api/bmc-contract.ts): discovery for the
 * wizard, on the same code as `ustart discover` (src/bmc/discover.ts). Logins come from the
 * same places as the CLI's (`USTART_BMC_AUTH_FILE`, `USTART_BMC_USERNAME`/`_PASSWORD`), else
 * the consultant is asked through the app's SecretKeeper (`secret:needed` for host
 * `bmc:<address>`), like SSH passwords; certificates are pinned in the state folder's
 * `bmc_certificates`, the file the CLI reads.
 */
import type { BmcServerDiscovery, FrontEvents, Output, ParsedInput } from '../api/index.js';
import { BmcCertificates, bmcCertificatesFile } from '../bmc/certificates.js';
import { loadBmcCredentials } from '../bmc/credentials.js';
import { applyDiscoveries, discoverPlan, type ServerDiscovery } from '../bmc/discover.js';
import type { InventoryBmc } from '../bmc/inventory.js';
import type { RedfishBmc } from '../bmc/redfish.js';
import { UstartError } from '../errors.js';
import { validatePlan } from '../plan/index.js';
import type { CredentialStore } from '../ssh/credentials.js';

export interface DiscoveryServiceOptions {
  stateDir: string;
  events: FrontEvents;
  /** Asked for a BMC's password nothing else gives (the app's SecretKeeper). */
  secrets: CredentialStore;
  env?: NodeJS.ProcessEnv;
  /** Per request; 15 s when absent. */
  timeoutMs?: number;
  /** Opens a BMC; RedfishBmc.connect when absent. */
  connect?: (o: Parameters<typeof RedfishBmc.connect>[0]) => Promise<InventoryBmc>;
}

export function discoveryHandlers(o: DiscoveryServiceOptions) {
  const pins = () => new BmcCertificates(bmcCertificatesFile(o.stateDir));
  return {
    async 'bmc:discover'({
      plan,
      hosts,
      user,
      port,
    }: ParsedInput<'bmc:discover'>): Promise<Output<'bmc:discover'>> {
      const unknown = (hosts ?? []).filter((h) => !plan.servers.some((s) => s.hostname === h));
      if (unknown.length)
        throw new UstartError(
          'InvalidArgument',
          `${unknown.join(', ')}: no such server in the plan.`,
        );
      const chosen = hosts
        ? { ...plan, servers: plan.servers.filter((s) => hosts.includes(s.hostname)) }
        : plan;
      const credentials = await loadBmcCredentials({
        ...(user ? { user } : {}),
        ask: o.secrets,
        ...(o.env ? { env: o.env } : {}),
      });
      let done = 0;
      const total = chosen.servers.length;
      const found = await discoverPlan(chosen, {
        credentials,
        certificates: pins(),
        port,
        ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
        ...(o.connect ? { connect: o.connect } : {}),
        onServer: (d) =>
          o.events.emit('bmc:discover-progress', {
            done: ++done,
            total,
            hostname: d.hostname,
            status: statusOf(d),
          }),
      });
      return {
        servers: found.map(view),
        findings: validatePlan(applyDiscoveries(plan, found, 'all')),
      };
    },
    async 'bmc:accept-certificate'({
      address,
      port,
      fingerprint,
    }: ParsedInput<'bmc:accept-certificate'>): Promise<Output<'bmc:accept-certificate'>> {
      await pins().add(address, port, fingerprint);
      return {};
    },
  };
}

function statusOf(d: ServerDiscovery): BmcServerDiscovery['status'] {
  switch (d.status) {
    case 'unanswered':
      return 'unreachable';
    case 'certificate':
      return d.fingerprint ? 'certificate-unknown' : 'certificate-changed';
    case 'failed':
      return d.code === 'AuthFailed' ? 'login-refused' : 'failed';
    default:
      return d.status;
  }
}

/** What the front sees: the status, the changes and the proposed server (no raw inventory). */
function view(d: ServerDiscovery): BmcServerDiscovery {
  return {
    hostname: d.hostname,
    ...(d.address ? { address: d.address } : {}),
    status: statusOf(d),
    ...(d.message ? { message: d.message } : {}),
    ...(d.fingerprint ? { fingerprint: d.fingerprint } : {}),
    changes: d.changes,
    ...(d.proposed ? { proposed: d.proposed } : {}),
  };
}
