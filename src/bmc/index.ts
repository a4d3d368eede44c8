/** BMC access (docs/bare-metal.md): Redfish, IPMI, pinned certificates, credentials, discovery. */
import { UstartError } from '../errors.js';
import type { Server } from '../plan/schema.js';
import type { BmcCertificates } from './certificates.js';
import type { BmcCredentials } from './credentials.js';
import { IpmiBmc } from './ipmi.js';
import { RedfishBmc } from './redfish.js';
import type { Bmc } from './types.js';

export * from './types.js';
export type { BmcInventory, InventoryBmc } from './inventory.js';
export { BmcCertificates, bmcCertificatesFile } from './certificates.js';
export { loadBmcCredentials, type BmcCredentials, type BmcLogin } from './credentials.js';
export { RedfishBmc } from './redfish.js';
export { IpmiBmc } from './ipmi.js';
export { discoverPlan, applyDiscoveries, proposeServer } from './discover.js';
export type { ServerDiscovery, Change, DiscoveryStatus } from './discover.js';

export interface OpenBmcOptions {
  credentials: BmcCredentials;
  certificates: BmcCertificates;
  /** Redfish HTTPS port (443) or IPMI UDP port (623) when absent. */
  port?: number;
  timeoutMs?: number;
}

/** The BMC of a planned server, by its `bmc.protocol`; the caller closes it. */
export async function openBmc(server: Server, o: OpenBmcOptions): Promise<Bmc> {
  if (!server.bmc) {
    throw new UstartError(
      'InvalidArgument',
      `server ${server.hostname} has no BMC in the plan: add servers[].bmc (address and protocol).`,
    );
  }
  const { address, protocol } = server.bmc;
  const login = await o.credentials.get(address);
  if (!login) {
    throw new UstartError(
      'AuthFailed',
      `no login for the BMC ${address} of ${server.hostname}: give USTART_BMC_USERNAME and USTART_BMC_PASSWORD, a credentials file, or answer the prompt.`,
      { detail: { address } },
    );
  }
  const common = {
    address,
    login,
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  };
  return protocol === 'redfish'
    ? RedfishBmc.connect({ ...common, certificates: o.certificates })
    : new IpmiBmc(common);
}

/** Opens a planned server's BMC with the logins and certificate pins it was made with. */
export type BmcOpener = (server: Server) => Promise<Bmc>;

/**
 * An opener for every server of a plan: `redfishPort` applies to Redfish BMCs only, an IPMI
 * BMC keeps its own (UDP 623). The fronts' one way to reach the BMCs (CLI and app).
 */
export function bmcOpener(o: Omit<OpenBmcOptions, 'port'> & { redfishPort?: number }): BmcOpener {
  const { redfishPort, ...rest } = o;
  return (server) =>
    openBmc(server, {
      ...rest,
      ...(server.bmc?.protocol === 'redfish' && redfishPort !== undefined
        ? { port: redfishPort }
        : {}),
    });
}
