/**
 * BMC credentials, held like SSH secrets (docs/bare-metal.md, "Credentials"): never in the
 * plan, never on a command line, never in a log. In order:
 *
 * 1. a file (mode 0600 or stricter; `--bmc-auth-file` or `USTART_BMC_AUTH_FILE`) of
 *    `ADDRESS USER:PASSWORD` lines, `*` for every BMC, like the mirror credentials file;
 * 2. `USTART_BMC_USERNAME` + `USTART_BMC_PASSWORD` for every BMC;
 * 3. the front's CredentialStore (the app's SecretKeeper: session memory, the keychain, then
 *    the consultant; the CLI: a prompt without echo), asked for the password of
 *    `{ kind: 'password', host: 'bmc:<address>', user }`, so a remembered BMC password lives
 *    in the same keychain as SSH passwords, under its own key.
 */
import { UstartError } from '../errors.js';
import type { CredentialStore } from '../ssh/credentials.js';
import { readCredentialsFile } from '../util/credentials-file.js';

export interface BmcLogin {
  username: string;
  password: string;
}

/** The port the BMC clients take: a login per BMC address, or undefined when none is known. */
export interface BmcCredentials {
  get(address: string): Promise<BmcLogin | undefined>;
}

/** The name under which a BMC's password is asked of a CredentialStore. */
export function bmcSecretHost(address: string): string {
  return `bmc:${address}`;
}

export interface BmcCredentialOptions {
  /** `ADDRESS USER:PASSWORD` lines; else `USTART_BMC_AUTH_FILE`. */
  file?: string;
  /** The user for BMCs the file and environment do not name; else `USTART_BMC_USERNAME`. */
  user?: string;
  /** Asked for the password of a BMC nothing else names. */
  ask?: CredentialStore;
  env?: NodeJS.ProcessEnv;
}

export async function loadBmcCredentials(o: BmcCredentialOptions = {}): Promise<BmcCredentials> {
  const env = o.env ?? process.env;
  const map = new Map<string, BmcLogin>();
  const username = env.USTART_BMC_USERNAME;
  const password = env.USTART_BMC_PASSWORD;
  if (password !== undefined && username === undefined && o.user === undefined) {
    throw new UstartError(
      'InvalidArgument',
      'USTART_BMC_PASSWORD is set but no user: set USTART_BMC_USERNAME (or --bmc-user) too.',
    );
  }
  if (password !== undefined) map.set('*', { username: o.user ?? username!, password });
  const path = o.file ?? env.USTART_BMC_AUTH_FILE;
  if (path) {
    const logins = await readCredentialsFile(path, {
      what: 'the BMC credentials file',
      form: 'ADDRESS USER:PASSWORD (or * USER:PASSWORD for every BMC)',
    });
    for (const [k, v] of logins) map.set(k, v);
  }
  const user = o.user ?? username;
  const asked = new Map<string, Promise<BmcLogin | undefined>>();
  return {
    get(address) {
      const known = map.get(address) ?? map.get('*');
      if (known) return Promise.resolve(known);
      if (!o.ask || user === undefined) return Promise.resolve(undefined);
      let p = asked.get(address);
      if (!p) {
        p = o.ask
          .get({ kind: 'password', host: bmcSecretHost(address), user })
          .then((secret) =>
            secret === undefined ? undefined : { username: user, password: secret },
          );
        asked.set(address, p);
      }
      return p;
    },
  };
}
