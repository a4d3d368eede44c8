/**
 * A client of the OCI distribution API (docs/upstream-facts.md#oci-dist-pull): the `/v2/`
 * check, manifests and blobs by digest, with token or Basic authentication (auth.ts), and
 * redirects followed by hand so credentials never travel to another origin (blob storage
 * behind a registry is often a CDN or object store). Plain node:http(s) with keep-alive
 * agents: large blobs stream straight from the socket into the hash and the file.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { UstartError } from '../../errors.js';
import {
  basicHeader,
  parseChallenges,
  parseTokenResponse,
  TokenCache,
  type BasicCredentials,
  type Challenge,
} from './auth.js';

/** Where a repository is fetched from: the upstream registry or a mirror of it. */
export interface Endpoint {
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5000`. */
  origin: string;
  /** Repository prefix on this endpoint (a mirror's path: `dockerhub-proxy/`), or empty. */
  prefix: string;
  /** The upstream registry this endpoint serves (`docker.io`); sent as `?ns=` to mirrors. */
  registry: string;
  mirror: boolean;
  credentials?: BasicCredentials;
}

export function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.mirror
    ? `mirror ${endpoint.origin}${endpoint.prefix ? `/${endpoint.prefix.replace(/\/$/, '')}` : ''} (for ${endpoint.registry})`
    : `registry ${endpoint.registry} (${endpoint.origin})`;
}

export interface RegistryRequest {
  endpoint: Endpoint;
  repository: string;
  /** Path after `/v2/<prefix><repository>/`: `manifests/<ref>` or `blobs/<digest>`. */
  path: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** For error messages: the image this request is for. */
  image: string;
}

const MAX_REDIRECTS = 5;

export class RegistryClient {
  private readonly tokens = new TokenCache();
  /** The challenge each origin answered `/v2/` with (undefined: no authentication). */
  private readonly challenges = new Map<string, Promise<Challenge | undefined>>();
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 32 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 32 }),
  };

  constructor(private readonly userAgent = 'ustart') {}

  dispose(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /**
   * Sends a GET for a repository's manifest or blob with the right authentication. Returns
   * the final response (after redirects) whatever its status; the caller consumes its body.
   */
  async get(request: RegistryRequest): Promise<IncomingMessage> {
    const { endpoint } = request;
    const name = `${endpoint.prefix}${request.repository}`;
    const url = new URL(`${endpoint.origin}/v2/${name}/${request.path}`);
    // containerd names the upstream of a mirror this way (docs/upstream-facts.md#oci-mirror-ns).
    if (endpoint.mirror) url.searchParams.set('ns', endpoint.registry);
    const challenge = await this.ping(request);
    const scope = `repository:${name}:pull`;
    let authorization = challenge
      ? await this.authorize(request, challenge, scope, false)
      : undefined;
    let response = await this.send(url, request, authorization);
    if (response.statusCode === 401) {
      response.resume();
      // The token may have expired early or the scope differ from the one asked for: ask
      // for a fresh token with the scope this 401 names, once.
      const fresh =
        parseChallenges(header(response, 'www-authenticate')).find(
          (c) => c.scheme === 'bearer' || c.scheme === 'basic',
        ) ?? challenge;
      if (!fresh) throw this.refused(request, 'without a challenge to answer');
      authorization = await this.authorize(request, fresh, fresh.params.scope ?? scope, true);
      response = await this.send(url, request, authorization);
      if (response.statusCode === 401) {
        response.resume();
        throw this.refused(request, 'even with a token');
      }
    }
    return response;
  }

  /** `GET /v2/` once per origin: is it a registry, and which authentication does it want? */
  private ping(request: RegistryRequest): Promise<Challenge | undefined> {
    const { endpoint } = request;
    let known = this.challenges.get(endpoint.origin);
    if (!known) {
      known = (async () => {
        const response = await this.send(
          new URL(`${endpoint.origin}/v2/`),
          request,
          undefined,
          true,
        );
        response.resume();
        if (response.statusCode === 200) return undefined;
        if (response.statusCode === 401) {
          const challenges = parseChallenges(header(response, 'www-authenticate'));
          const usable =
            challenges.find((c) => c.scheme === 'bearer') ??
            challenges.find((c) => c.scheme === 'basic');
          if (usable) return usable;
        }
        throw new UstartError(
          'BundleBuildFailed',
          `${request.image}: ${describeEndpoint(endpoint)} answered GET /v2/ with HTTP ${response.statusCode}` +
            `${response.statusCode === 401 ? ' and no Bearer or Basic challenge' : ''}, so it is not an OCI registry uStart can pull from. ` +
            (endpoint.mirror
              ? 'Check the mirror URL (--mirror): it names the registry host and, for Harbor or Artifactory, the proxy project or repository path.'
              : 'Check the registry name in the image reference.'),
          {
            detail: { image: request.image, origin: endpoint.origin, status: response.statusCode },
          },
        );
      })();
      known.catch(() => this.challenges.delete(endpoint.origin));
      this.challenges.set(endpoint.origin, known);
    }
    return known;
  }

  private async authorize(
    request: RegistryRequest,
    challenge: Challenge,
    scope: string,
    fresh: boolean,
  ): Promise<string | undefined> {
    const { endpoint } = request;
    if (challenge.scheme === 'basic') {
      if (!endpoint.credentials) {
        throw new UstartError(
          'AuthFailed',
          `${request.image}: ${describeEndpoint(endpoint)} asks for a user name and password (Basic authentication). ` +
            'Give them in USTART_MIRROR_USERNAME and USTART_MIRROR_PASSWORD, or in a credentials file (--mirror-auth-file); never on the command line.',
          { detail: { image: request.image, origin: endpoint.origin } },
        );
      }
      return basicHeader(endpoint.credentials);
    }
    const realm = challenge.params.realm;
    if (!realm) throw this.refused(request, 'with a Bearer challenge that names no realm');
    const key = `${realm}\n${challenge.params.service ?? ''}\n${scope}\n${endpoint.credentials?.username ?? ''}`;
    if (fresh) this.tokens.drop(key);
    const token = await this.tokens.get(key, () =>
      this.fetchToken(request, realm, challenge.params.service, scope),
    );
    return `Bearer ${token}`;
  }

  private async fetchToken(
    request: RegistryRequest,
    realm: string,
    service: string | undefined,
    scope: string,
  ): Promise<{ token: string; expiresIn: number }> {
    const { endpoint } = request;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw this.refused(request, `with a token realm that is not a URL (${realm})`);
    }
    if (service !== undefined) url.searchParams.set('service', service);
    for (const s of scope.split(' ')) if (s) url.searchParams.append('scope', s);
    // Credentials go to the token server only over TLS (or on this machine).
    const credentials =
      endpoint.credentials && (url.protocol === 'https:' || isLoopback(url.hostname))
        ? endpoint.credentials
        : undefined;
    const response = await this.send(
      url,
      request,
      credentials ? basicHeader(credentials) : undefined,
      true,
    );
    const body = await readBody(response, 1024 * 1024);
    if (response.statusCode !== 200) {
      throw new UstartError(
        'AuthFailed',
        `${request.image}: the token server ${url.origin}${url.pathname} of ${describeEndpoint(endpoint)} refused a ${credentials ? '' : 'anonymous '}pull token for ${scope} (HTTP ${response.statusCode}). ` +
          (credentials
            ? 'Check the mirror credentials.'
            : 'The repository may be private or misspelt; a private image needs a mirror with credentials.'),
        { detail: { image: request.image, origin: endpoint.origin, status: response.statusCode } },
      );
    }
    let parsed: ReturnType<typeof parseTokenResponse>;
    try {
      parsed = parseTokenResponse(JSON.parse(body.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (!parsed)
      throw this.refused(request, `with a token response from ${url.origin} that holds no token`);
    return parsed;
  }

  private refused(request: RegistryRequest, how: string): UstartError {
    const { endpoint } = request;
    return new UstartError(
      'AuthFailed',
      `${request.image}: ${describeEndpoint(endpoint)} refused access to ${endpoint.prefix}${request.repository} (HTTP 401 ${how}). ` +
        (endpoint.mirror
          ? 'Check that the mirror proxies this registry and that its credentials (USTART_MIRROR_USERNAME/PASSWORD or --mirror-auth-file) allow pulls.'
          : 'The image may be private or its name misspelt; check the reference, or pull it through a mirror with credentials (--mirror).'),
      { detail: { image: request.image, origin: endpoint.origin, status: 401 } },
    );
  }

  /**
   * One GET with redirects followed; `Authorization` only ever goes to the first origin.
   * `bare` leaves out the request's own headers (Accept, Range): the ping and the token fetch.
   */
  private async send(
    first: URL,
    request: RegistryRequest,
    authorization: string | undefined,
    bare = false,
  ): Promise<IncomingMessage> {
    let url = first;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = {
        'user-agent': this.userAgent,
        ...(bare ? {} : request.headers),
      };
      if (authorization && url.origin === first.origin) headers.authorization = authorization;
      const response = await this.once(url, headers, request);
      const status = response.statusCode ?? 0;
      const location = header(response, 'location');
      if (![301, 302, 303, 307, 308].includes(status) || !location) return response;
      response.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new UstartError(
          'BundleBuildFailed',
          `${request.image}: more than ${MAX_REDIRECTS} redirects from ${first.origin}; the registry or a proxy in between loops.`,
          { detail: { image: request.image } },
        );
      }
      url = new URL(location, url);
    }
  }

  private once(
    url: URL,
    headers: Record<string, string>,
    request: RegistryRequest,
  ): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      return Promise.reject(
        new UstartError(
          'BundleBuildFailed',
          `${request.image}: cannot follow ${url.protocol} URL ${url.origin}.`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).get(
        url,
        {
          headers,
          agent: secure ? this.agents.https : this.agents.http,
          ...(request.signal ? { signal: request.signal } : {}),
        },
        resolve,
      );
      req.once('error', (e) => {
        if (request.signal?.aborted) {
          reject(new UstartError('Cancelled', `${request.image}: cancelled.`, { cause: e }));
          return;
        }
        reject(
          new UstartError(
            'ConnectionFailed',
            `${request.image}: could not reach ${url.origin} (${describeEndpoint(request.endpoint)}): ${(e as Error).message}. ` +
              'Check the network, a proxy (HTTPS_PROXY is not used), or the mirror URL.',
            { cause: e, detail: { image: request.image, origin: url.origin } },
          ),
        );
      });
    });
  }
}

export function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(response: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      response.destroy();
      throw new UstartError(
        'BundleBuildFailed',
        `a registry response is larger than ${limit} bytes; refused.`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}
