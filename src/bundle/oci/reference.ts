/**
 * Image references (`quay.io/ceph/ceph:v18`, `nginx`, `ghcr.io/x/y@sha256:…`) parsed and
 * normalised the way Docker and containerd do it, so a BOM entry names the same image here
 * as on the hosts: no registry means `docker.io`, a one-part name on `docker.io` lives under
 * `library/`, and `docker.io` itself is served from `registry-1.docker.io`
 * (docs/upstream-facts.md#oci-docker-hub-normalise, #oci-docker-hub-host).
 */
import { UstartError } from '../../errors.js';

export interface ImageReference {
  /** Registry host as people write it (`docker.io`, `quay.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Repository path inside the registry (`library/nginx`, `ceph/ceph`). */
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>` when the reference pins a digest. */
  digest?: string;
}

const DOCKER_HUB = 'docker.io';
/** The host that serves docker.io's distribution API (docs/upstream-facts.md#oci-docker-hub-host). */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

// docs/upstream-facts.md#oci-name-grammar: repository components and tags.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Parses and normalises a reference; an error names it and says what is wrong. */
export function parseImageReference(text: string): ImageReference {
  const fail = (why: string): never => {
    throw new UstartError('InvalidArgument', `image reference "${text}": ${why}.`);
  };
  if (text.trim() !== text || text === '') fail('empty or surrounded by spaces');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!SHA256_DIGEST.test(digest)) fail('the digest after "@" must be sha256: and 64 hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`"${tag}" is not a valid tag`);
  }
  // docs/upstream-facts.md#oci-docker-hub-normalise: the first part is a registry only
  // when it has a "." or ":" or is "localhost".
  const slash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  let repository = rest;
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository === '' || !repository.split('/').every((c) => COMPONENT.test(c))) {
    fail(
      `"${repository}" is not a valid repository name (lower-case letters, digits, . _ - and /)`,
    );
  }
  if (
    !/^[A-Za-z0-9.-]+(?::[0-9]+)?$/.test(registry) &&
    !/^\[[0-9a-f:]+\](?::[0-9]+)?$/.test(registry)
  ) {
    fail(`"${registry}" is not a valid registry host`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return {
    registry,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** The normalised reference: `docker.io/library/nginx:1.27`, `quay.io/x/y:1@sha256:…`. */
export function formatImageReference(ref: ImageReference): string {
  return (
    `${ref.registry}/${ref.repository}` +
    (ref.tag !== undefined ? `:${ref.tag}` : '') +
    (ref.digest ? `@${ref.digest}` : '')
  );
}

/** What to ask the registry for: the digest when pinned (never trust a tag then), else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The host that serves a registry's API (docker.io is served elsewhere). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/** Loopback hosts speak plain HTTP, as containerd does for localhost (docs/upstream-facts.md#oci-localhost-http). */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}
