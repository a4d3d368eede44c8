/**
 * Discovery in the wizard (docs/bare-metal.md, "Discovery"; issue 20): read each server's
 * hardware from its BMC over Redfish and offer the plan changes per server, as `ustart
 * discover` does. Merged into `requests` and `events` of ./contract.ts like ./run-contract.ts.
 *
 * BMC passwords are asked through `secret:needed` (host `bmc:<address>`) like SSH passwords
 * and answered with `secret:provide`; they never travel in these requests, their answers or
 * events.
 */
import { z } from 'zod';
import { Plan, Server } from '../plan/schema.js';
import { FindingSchema } from './finding-schema.js';

/** What accepting a server's discovery writes into the plan; the fronts use the core's list. */
export { copyDiscovered, DISCOVERED_FIELDS, sameDiscoveredFields } from '../plan/discovered.js';

/** One proposed change, as `ustart discover` prints it. */
export const DiscoveryChange = z.object({
  /** Plan field: `cpu`, `memoryGiB`, `nics[1]`, `disks[0]`, `model`, `vendor`. */
  field: z.string(),
  kind: z.enum(['changed', 'added', 'kept']),
  /** `before → after`, or why it was kept. */
  text: z.string(),
});
export type DiscoveryChange = z.infer<typeof DiscoveryChange>;

export const BmcDiscoveryStatus = z.enum([
  /** The inventory was read; `changes` may be empty (as planned). */
  'read',
  /** The plan names no BMC for the server. */
  'no-bmc',
  /** The BMC speaks only IPMI, which has no inventory. */
  'ipmi',
  /** No login: no BMC user was given, or the consultant declined the password. */
  'no-credentials',
  /** The BMC did not answer. */
  'unreachable',
  /** It refused the login (user or password wrong). */
  'login-refused',
  /** Its TLS certificate is not pinned yet: `fingerprint` is the one to compare and accept. */
  'certificate-unknown',
  /** Its certificate differs from the pinned one: refused, nothing was sent. */
  'certificate-changed',
  /** It answered, but reading failed (`message` says why). */
  'failed',
]);
export type BmcDiscoveryStatus = z.infer<typeof BmcDiscoveryStatus>;

export const BmcServerDiscovery = z.object({
  hostname: z.string(),
  /** The BMC's address, when the plan names one. */
  address: z.string().optional(),
  status: BmcDiscoveryStatus,
  message: z.string().optional(),
  /** For `certificate-unknown`: the offered SHA-256 fingerprint (`AB:CD:…`). */
  fingerprint: z.string().optional(),
  changes: z.array(DiscoveryChange),
  /** For `read`: the server with every change applied, as it goes into the plan. */
  proposed: Server.optional(),
});
export type BmcServerDiscovery = z.infer<typeof BmcServerDiscovery>;

const port = z.number().int().min(1).max(65535);

export const bmcRequests = {
  /**
   * Reads the BMC of each server (or of `hosts`) and proposes its changes; nothing is
   * written. `findings` validate the plan with every proposed change. `user` logs in to BMCs
   * that neither `USTART_BMC_AUTH_FILE` nor `USTART_BMC_USERNAME` name; its password is asked
   * with `secret:needed` for `{ kind: 'password', host: 'bmc:<address>', user }`.
   */
  'bmc:discover': request(
    z.object({
      plan: Plan,
      hosts: z.array(z.string()).optional(),
      user: z.string().trim().min(1).optional(),
      /** Redfish HTTPS port of every BMC (443). */
      port: port.default(443),
    }),
    z.object({ servers: z.array(BmcServerDiscovery), findings: z.array(FindingSchema) }),
  ),
  /**
   * Pins a BMC's TLS certificate the consultant compared with the BMC's own console, in the
   * `bmc_certificates` file of the state folder (the one `ustart discover` reads).
   */
  'bmc:accept-certificate': request(
    z.object({
      address: z.string().trim().min(1),
      port: port.default(443),
      fingerprint: z.string().regex(/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, {
        error: 'not a SHA-256 fingerprint (32 hex pairs separated by colons)',
      }),
    }),
    z.object({}),
  ),
};

export const bmcEvents = {
  /** A server of a running `bmc:discover` is done, for progress. */
  'bmc:discover-progress': z.object({
    done: z.number().int(),
    total: z.number().int(),
    hostname: z.string(),
    status: BmcDiscoveryStatus,
  }),
};

function request<I extends z.ZodType, O extends z.ZodType>(input: I, output: O) {
  return { input, output };
}
