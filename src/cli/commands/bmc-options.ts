/**
 * The options that reach the servers' BMCs, shared by `ustart discover`, `ustart
 * os-install` and `ustart run --phase os-install`: who logs in (never a password on the command line), the Redfish port, and
 * whether a BMC certificate seen for the first time is pinned (docs/bare-metal.md).
 */
import type { Command } from 'commander';
import { ustartStateDir } from '../../app/state-dir.js';
import { BmcCertificates, bmcCertificatesFile } from '../../bmc/certificates.js';
import { loadBmcCredentials } from '../../bmc/credentials.js';
import { type BmcOpener, bmcOpener as openerFor } from '../../bmc/index.js';
import { wholeNumber } from '../options.js';
import type { Output } from '../output.js';
import type { RunDisplay } from '../run-display.js';
import { terminalCredentials } from './run.js';

export interface BmcOpts {
  bmcUser?: string;
  bmcAuthFile?: string;
  bmcPort?: string;
  acceptNewBmcCertificates?: boolean;
}

export function withBmcOptions(command: Command): Command {
  return command
    .option(
      '--bmc-user <user>',
      'BMC user for BMCs the credentials file does not name (else USTART_BMC_USERNAME)',
    )
    .option(
      '--bmc-auth-file <file>',
      'file of "ADDRESS USER:PASSWORD" lines, mode 0600 (else USTART_BMC_AUTH_FILE)',
    )
    .option('--bmc-port <port>', 'Redfish HTTPS port of the BMCs', '443')
    .option(
      '--accept-new-bmc-certificates',
      'pin BMC certificates seen for the first time (a changed one is always refused)',
    );
}

/**
 * The checked port, the pinned certificates and the logins the options name; a password
 * nothing names is asked on the terminal (with `view`'s live lines off the screen).
 */
export async function bmcAccess(opts: BmcOpts, out: Output, view?: Pick<RunDisplay, 'suspend'>) {
  const port = wholeNumber('--bmc-port', opts.bmcPort ?? '443', 1, 65535);
  const certificates = new BmcCertificates(
    bmcCertificatesFile(ustartStateDir()),
    Boolean(opts.acceptNewBmcCertificates),
  );
  const credentials = await loadBmcCredentials({
    ...(opts.bmcAuthFile ? { file: opts.bmcAuthFile } : {}),
    ...(opts.bmcUser ? { user: opts.bmcUser } : {}),
    ask: terminalCredentials(out, view),
  });
  return { port, certificates, credentials };
}

/** Opens a planned server's BMC (Redfish or IPMI, by its `bmc.protocol`) with those options. */
export async function bmcOpener(
  opts: BmcOpts,
  out: Output,
  view?: Pick<RunDisplay, 'suspend'>,
): Promise<BmcOpener> {
  const { port, ...access } = await bmcAccess(opts, out, view);
  return openerFor({ ...access, redfishPort: port });
}
