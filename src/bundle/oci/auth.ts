/**
 * Registry authentication as the public registries do it (docs/upstream-facts.md#oci-token-auth):
 * a request answered `401` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` is
 * retried with a token fetched from the realm (anonymously, or with Basic credentials for a
 * mirror that has them); `Basic realm=…` is answered with the credentials themselves.
 * Tokens are cached per realm, service and scope until shortly before they expire.
 */

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Basic credentials of a mirror. Never logged, never put in an error message. */
export interface BasicCredentials {
  username: string;
  password: string;
}

/**
 * Parses `WWW-Authenticate` (RFC 9110 §11.6.1): a scheme, then `key=value` or
 * `key="quoted, value"` pairs separated by commas. Several challenges in one header are
 * split where a new scheme starts.
 */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const challenges: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipSpace = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  while (i < s.length) {
    skipSpace();
    while (s[i] === ',') {
      i++;
      skipSpace();
    }
    const schemeMatch = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(s.slice(i));
    if (!schemeMatch) break;
    const challenge: Challenge = { scheme: schemeMatch[0].toLowerCase(), params: {} };
    challenges.push(challenge);
    i += schemeMatch[0].length;
    for (;;) {
      skipSpace();
      const keyMatch = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*/.exec(s.slice(i));
      if (!keyMatch) break;
      i += keyMatch[0].length;
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        const m = /^[^,\s]*/.exec(s.slice(i))!;
        value = m[0];
        i += value.length;
      }
      challenge.params[keyMatch[1]!.toLowerCase()] = value;
      skipSpace();
      if (s[i] !== ',') break;
      // A comma followed by `token=` continues this challenge; followed by a bare scheme
      // it starts the next one.
      const after = s.slice(i + 1).trimStart();
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=/.test(after)) break;
      i++;
    }
  }
  return challenges;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens by realm, service and scope; a token is reused until 10 s before it expires. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A cached token, or the one `fetchToken` returns (one fetch per key at a time). */
  async get(
    key: string,
    fetchToken: () => Promise<{ token: string; expiresIn: number }>,
  ): Promise<string> {
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const started = this.now();
    const promise = fetchToken()
      .then(({ token, expiresIn }) => {
        this.tokens.set(key, { token, expiresAt: started + Math.max(0, expiresIn - 10) * 1000 });
        return token;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, promise);
    return promise;
  }

  /** Forgets a token the registry refused. */
  drop(key: string): void {
    this.tokens.delete(key);
  }
}

/**
 * The token response's fields (docs/upstream-facts.md#oci-token-auth): `token`, or
 * `access_token` for OAuth 2 compatibility; `expires_in` seconds, 60 when absent.
 */
export function parseTokenResponse(
  body: unknown,
): { token: string; expiresIn: number } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const o = body as Record<string, unknown>;
  const token = typeof o.token === 'string' && o.token ? o.token : o.access_token;
  if (typeof token !== 'string' || token === '') return undefined;
  const expiresIn = typeof o.expires_in === 'number' && o.expires_in > 0 ? o.expires_in : 60;
  return { token, expiresIn };
}

export function basicHeader(credentials: BasicCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}
