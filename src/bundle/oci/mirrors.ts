/**
 * Mirrors: fetch an upstream registry's images through the customer's or the consultant's
 * registry (Harbor, Artifactory, Nexus, a distribution pull-through cache) instead of the
 * registry itself. The convention (docs/bundle-format.md, "Images"):
 *
 * - `--mirror URL` serves every registry, `--mirror REGISTRY=URL` one registry (repeatable,
 *   the specific one wins), or a YAML file `mirrors: { docker.io: URL, "*": URL }`;
 * - `URL` is `https://host[:port][/path]`; its path is put in front of the repository name,
 *   as Harbor proxy-cache projects and Artifactory's repository-path access do it
 *   (`https://harbor.example.com/dockerhub` pulls `library/nginx` as
 *   `/v2/dockerhub/library/nginx/...`); no path is a pull-through cache of one registry;
 * - every request to a mirror carries `?ns=<upstream registry>`, as containerd sends it
 *   (docs/upstream-facts.md#oci-mirror-ns);
 * - a registry with a mirror is never contacted itself (no fallback): a bundle built
 *   "through the mirror" must not depend on the internet behind the consultant's back.
 *
 * Credentials of a mirror (Basic, used for the mirror's own Basic challenge or for its token
 * server) come from the environment (`USTART_MIRROR_USERNAME`, `USTART_MIRROR_PASSWORD`) or
 * a file of `HOST USER:PASSWORD` lines, never from the command line, and never go to the
 * upstream registries or over plain HTTP to another machine.
 */
import { parse } from 'yaml';
import { UstartError } from '../../errors.js';
import type { BasicCredentials } from './auth.js';
import { apiHost, isLoopbackHost } from './reference.js';
import type { Endpoint } from './registry.js';
import { readCredentialsFile } from '../../util/credentials-file.js';
import { readRegularFile } from '../../util/user-file.js';

/** Mirror URLs by upstream registry (`docker.io`, `quay.io`) or `*` for every registry. */
export type MirrorMap = ReadonlyMap<string, string>;

/** Credentials by mirror host (`harbor.example.com`, `127.0.0.1:5000`) or `*`. */
export type CredentialMap = ReadonlyMap<string, BasicCredentials>;

/** Parses `--mirror` values: `URL` (every registry) or `REGISTRY=URL`. */
export function parseMirrorOptions(values: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf('=');
    const [registry, url] =
      eq > 0 && !value.slice(0, eq).includes('/')
        ? [value.slice(0, eq), value.slice(eq + 1)]
        : ['*', value];
    checkMirrorUrl(url, `--mirror ${value}`);
    if (map.has(registry)) {
      throw new UstartError(
        'InvalidArgument',
        `--mirror ${value}: ${registry === '*' ? 'a mirror for every registry' : registry} is given twice; keep one.`,
      );
    }
    map.set(registry, url);
  }
  return map;
}

/** Reads a mirror file: `mirrors:` mapping upstream registries (or `*`) to mirror URLs. */
export async function loadMirrorFile(file: string): Promise<Map<string, string>> {
  let data: unknown;
  try {
    data = parse(await readRegularFile(file, { what: 'mirror file', encoding: 'utf8' }));
  } catch (e) {
    throw new UstartError(
      'InvalidArgument',
      `cannot read the mirror file ${file}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const mirrors = (data as { mirrors?: unknown } | null)?.mirrors;
  if (typeof mirrors !== 'object' || mirrors === null || Array.isArray(mirrors)) {
    throw new UstartError(
      'InvalidArgument',
      `${file}: write "mirrors:" with one "REGISTRY: URL" line per registry ("*" for every registry).`,
    );
  }
  const map = new Map<string, string>();
  for (const [registry, url] of Object.entries(mirrors)) {
    if (typeof url !== 'string')
      throw new UstartError('InvalidArgument', `${file}: mirrors.${registry} must be a URL.`);
    checkMirrorUrl(url, `${file}: mirrors.${registry}`);
    map.set(registry, url);
  }
  return map;
}

function checkMirrorUrl(url: string, where: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UstartError(
      'InvalidArgument',
      `${where}: "${url}" is not a URL; write https://host[:port][/path].`,
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new UstartError('InvalidArgument', `${where}: the mirror must be an http or https URL.`);
  }
  if (parsed.username || parsed.password) {
    throw new UstartError(
      'InvalidArgument',
      `${where}: the URL holds credentials; they would end up in logs and shell history. Put them in USTART_MIRROR_USERNAME/USTART_MIRROR_PASSWORD or a credentials file instead.`,
    );
  }
  if (parsed.search || parsed.hash)
    throw new UstartError('InvalidArgument', `${where}: a mirror URL has no query or fragment.`);
}

/**
 * Mirror credentials: `USTART_MIRROR_USERNAME` + `USTART_MIRROR_PASSWORD` for every mirror,
 * and/or a file (mode 0600 or stricter; `USTART_MIRROR_AUTH_FILE` or the option) of
 * `HOST USER:PASSWORD` lines; a line for the host wins over the environment.
 */
export async function loadMirrorCredentials(
  file?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Map<string, BasicCredentials>> {
  const map = new Map<string, BasicCredentials>();
  const username = env.USTART_MIRROR_USERNAME;
  const password = env.USTART_MIRROR_PASSWORD;
  if ((username === undefined) !== (password === undefined)) {
    throw new UstartError(
      'InvalidArgument',
      'set both USTART_MIRROR_USERNAME and USTART_MIRROR_PASSWORD, or neither.',
    );
  }
  if (username !== undefined && password !== undefined) map.set('*', { username, password });
  const path = file ?? env.USTART_MIRROR_AUTH_FILE;
  if (path) {
    const logins = await readCredentialsFile(path, {
      what: 'the mirror credentials file',
      form: 'HOST USER:PASSWORD',
    });
    for (const [k, v] of logins) map.set(k, v);
  }
  return map;
}

/** Where to fetch a registry's repositories from: its mirror when it has one, else itself. */
export function endpointFor(
  registry: string,
  mirrors: MirrorMap,
  credentials: CredentialMap,
): Endpoint {
  const mirror = mirrors.get(registry) ?? mirrors.get('*');
  if (!mirror) {
    const host = apiHost(registry);
    return {
      origin: `${isLoopbackHost(host) ? 'http' : 'https'}://${host}`,
      prefix: '',
      registry,
      mirror: false,
    };
  }
  const url = new URL(mirror);
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  const secret = credentials.get(url.host) ?? credentials.get('*');
  // Basic credentials never cross the network in clear text.
  if (secret && url.protocol !== 'https:' && !isLoopbackHost(url.host)) {
    throw new UstartError(
      'InvalidArgument',
      `the mirror ${url.origin} is plain http, so its credentials would cross the network in clear text; use its https URL.`,
    );
  }
  const usable = secret;
  return {
    origin: url.origin,
    prefix: path ? `${path}/` : '',
    registry,
    mirror: true,
    ...(usable ? { credentials: usable } : {}),
  };
}
