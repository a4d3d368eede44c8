/** The port through which the transport asks for secrets; fronts implement it (keychain, prompt). */

export type CredentialRequest =
  /** Login password of `user` on `host`. */
  | { kind: 'password'; host: string; user: string }
  /** Passphrase of an encrypted private key file. */
  | { kind: 'passphrase'; keyPath: string }
  /** Password sudo asks of `user` on `host`. */
  | { kind: 'sudo'; host: string; user: string };

/**
 * Gives secrets on request. The transport keeps what it gets only in memory, for the
 * connection that asked, and never logs it, writes it or puts it on a command line.
 */
export interface CredentialStore {
  /** The secret, or undefined when the user has none to give (that method is then skipped). */
  get(request: CredentialRequest): Promise<string | undefined>;
}

/** A store that has nothing: agent and unencrypted keys only. */
export const NO_CREDENTIALS: CredentialStore = { get: () => Promise.resolve(undefined) };
