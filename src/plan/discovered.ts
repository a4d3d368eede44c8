/**
 * The part of a server that BMC discovery reads (src/bmc/discover.ts, docs/bare-metal.md
 * "Discovery"). Everything else — host name, rack, roles, addresses, BMC, bonds, SSH — is the
 * consultant's and is never touched by accepting a discovery, even when the plan was edited
 * after the BMCs were read. One list for the CLI (`ustart discover --accept`) and the wizard's
 * "Apply accepted", so the two cannot drift.
 */
import type { Server } from './schema.js';

export const DISCOVERED_FIELDS = ['cpu', 'memoryGiB', 'model', 'vendor', 'nics', 'disks'] as const;
export type DiscoveredField = (typeof DISCOVERED_FIELDS)[number];

/**
 * Writes the discovered fields of `proposed` into `to` (a plain server or an immer draft);
 * a field `proposed` lacks (a vendor no BMC reported) stays as it is.
 */
export function copyDiscovered(to: Server, proposed: Server): void {
  const from = structuredClone(proposed);
  to.cpu = from.cpu;
  to.memoryGiB = from.memoryGiB;
  to.model = from.model;
  if (from.vendor !== undefined) to.vendor = from.vendor;
  to.nics = from.nics;
  to.disks = from.disks;
}

/**
 * Whether the discovered fields of two servers are the same. A front that holds a proposal
 * made from the server as it was when the BMCs were read applies it only while this holds
 * for the server as it is now: a proposal carries that moment's NIC names and disk uses.
 */
export function sameDiscoveredFields(a: Server, b: Server): boolean {
  return DISCOVERED_FIELDS.every((f) => JSON.stringify(a[f]) === JSON.stringify(b[f]));
}
