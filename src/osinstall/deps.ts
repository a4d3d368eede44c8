/**
 * The real parts of an OS install (src/osinstall/os-install.ts): SSH probes, the ISO build,
 * and the accepted host key recorded in a known_hosts once SSH presented exactly it. Shared by
 * `ustart os-install`, `ustart run --phase os-install` and the app's run of that phase; each
 * front gives its own BMC opener and its own way to accept a reported host key.
 */
import type { BmcOpener } from '../bmc/index.js';
import { UstartError } from '../errors.js';
import type { KnownHosts } from '../ssh/known-hosts.js';
import { buildIso } from './iso.js';
import type { OsInstallDeps } from './os-install.js';
import { sshHostKey, sshProbe } from './ssh-probe.js';

export type { BmcOpener };

/** What tests give instead of the real BMCs, SSH probe and ISO build (every front). */
export interface OsInstallHooks {
  openBmc?: BmcOpener;
  sshProbe?: OsInstallDeps['sshProbe'];
  buildIso?: OsInstallDeps['buildIso'];
}

export function osInstallDeps(o: {
  openBmc: BmcOpener;
  acceptHostKey: OsInstallDeps['acceptHostKey'];
  known: KnownHosts | undefined;
  /** Tests give their own probe and ISO build; the real ones by default. */
  sshProbe?: OsInstallDeps['sshProbe'];
  buildIso?: OsInstallDeps['buildIso'];
}): OsInstallDeps {
  return {
    openBmc: o.openBmc,
    sshProbe: o.sshProbe ?? ((a, p) => sshProbe(a, p)),
    sshHostKey: (a, p, t) => sshHostKey(a, p, t),
    buildIso: o.buildIso ?? ((r, out) => buildIso(r, out)),
    acceptHostKey: o.acceptHostKey,
    // Only after SSH there presented exactly the accepted key (src/osinstall/os-install.ts).
    recordHostKey: (address, p, key) => {
      if (!o.known) throw new UstartError('Unsupported', 'a dry run records no host key');
      return o.known.add(address, p, Buffer.from(key.key, 'base64'));
    },
  };
}

/**
 * The public keys of an authorized_keys text (one per line; blank and `#` lines dropped).
 * `source` names where the text came from, for the error about a private key.
 */
export function authorizedKeyLines(text: string, source: string): string[] {
  if (/PRIVATE KEY/.test(text)) {
    throw new UstartError('InvalidArgument', `${source} is a private key; give the .pub file`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
