/**
 * GET over HTTPS (or plain HTTP on this machine) for Helm repositories and release files:
 * keep-alive agents, redirects followed by hand (GitHub release assets redirect to a CDN),
 * extra CA certificates given as an option (a private mirror's CA; never by turning
 * verification off), and errors that say which item, which URL and what to do. A TLS
 * failure is not retried: the same certificate fails the same way.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { UstartError } from '../../errors.js';
import { header } from '../oci/registry.js';
import { isLoopbackHost } from '../oci/reference.js';

const MAX_REDIRECTS = 5;

/** Node's codes for a certificate it refused (node/src/crypto/crypto_common.cc). */
const TLS_CODES =
  /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_|HOSTNAME_MISMATCH|UNABLE_TO_VERIFY)/;

export interface HttpClientOptions {
  /** PEM certificates trusted besides the system's (a mirror's private CA). */
  ca?: readonly string[];
  userAgent?: string;
}

export class HttpClient {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly userAgent: string;

  constructor(options: HttpClientOptions = {}) {
    this.userAgent = options.userAgent ?? 'ustart';
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
      https: new https.Agent({
        keepAlive: true,
        maxSockets: 16,
        // `ca` replaces Node's roots, so the system's stay in the list.
        ...(options.ca?.length ? { ca: [...rootCertificates, ...options.ca] } : {}),
      }),
    };
  }

  dispose(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /**
   * One GET with redirects followed (at most 5). Returns the final response whatever its
   * status, and its URL; the caller consumes the body. `what` names the item for messages.
   */
  async get(
    url: string,
    what: string,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<{ response: IncomingMessage; url: string }> {
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      const response = await this.once(current, what, headers, signal);
      const status = response.statusCode ?? 0;
      const location = header(response, 'location');
      if (![301, 302, 303, 307, 308].includes(status) || !location)
        return { response, url: current.toString() };
      response.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new UstartError(
          'BundleBuildFailed',
          `${what}: more than ${MAX_REDIRECTS} redirects from ${url}; the server or a proxy in between loops.`,
          { detail: { url } },
        );
      }
      current = new URL(location, current);
    }
  }

  private once(
    url: URL,
    what: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    if (!secure && !(url.protocol === 'http:' && isLoopbackHost(url.host))) {
      return Promise.reject(
        new UstartError(
          'InvalidArgument',
          `${what}: ${url.origin} is not https; uStart fetches release files and charts over https only (plain http on this machine alone). Use the https URL, or a mirror (--mirror-url).`,
          { detail: { url: url.toString() } },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).get(
        url,
        {
          headers: { 'user-agent': this.userAgent, ...headers },
          agent: secure ? this.agents.https : this.agents.http,
          ...(signal ? { signal } : {}),
        },
        resolve,
      );
      req.once('error', (e: NodeJS.ErrnoException) => {
        if (signal?.aborted) {
          reject(new UstartError('Cancelled', `${what}: cancelled.`, { cause: e }));
          return;
        }
        const tls = typeof e.code === 'string' && TLS_CODES.test(e.code);
        reject(
          new UstartError(
            'ConnectionFailed',
            tls
              ? `${what}: the TLS certificate of ${url.origin} was refused (${e.code}: ${e.message}). ` +
                  'If the server (a mirror) uses a private CA, give its certificate with --ca-file; check the host name and the clock.'
              : `${what}: could not reach ${url.origin}: ${e.message}. Check the network, a proxy (HTTPS_PROXY is not used), or the mirror URL.`,
            {
              cause: e,
              detail: { url: url.toString(), reason: tls ? 'tls' : 'connection', retryable: !tls },
            },
          ),
        );
      });
    });
  }
}
