/**
 * The site registry of an air-gapped install: Debian's docker-registry (distribution 2.8) on
 * every controller, holding the bundle's images under one repository prefix per upstream
 * registry (`docker.io/library/nginx` is repository `docker.io/library/nginx` there), and
 * containerd's `hosts.toml` on every host sending each upstream registry to it. Manifests keep
 * their upstream names, and an image an operator picks at run time resolves the same way.
 * Why each controller and plain HTTP: docs/bundle-format.md "The site registry".
 */
import type { HostContext } from '../context.js';
import { toYaml } from '../yaml.js';

/** distribution's own default port (its `http.addr` default, Debian's config too). */
export const SITE_REGISTRY_PORT = 5000;
/** Where containerd reads `<registry>/hosts.toml` (its documented default `config_path`). */
export const CONTAINERD_CERTS_D = '/etc/containerd/certs.d';
/** Debian's docker-registry unit runs `docker-registry serve` on this file. */
export const SITE_REGISTRY_CONFIG = '/etc/docker/registry/config.yml';
/** Debian's package owns this folder (the default `rootdirectory` of its config). */
export const SITE_REGISTRY_STORAGE = '/var/lib/docker-registry';

/**
 * Upstream registries whose images the rendered configuration names (generators' *_IMAGE
 * constants, charts' default registries) and which therefore get a mirror. A registry the
 * bill of materials adds must be added here; site-registry.test.ts checks the generators'
 * images against this list.
 */
export const MIRRORED_REGISTRIES = [
  'docker.io',
  'quay.io',
  'ghcr.io',
  'registry.k8s.io',
  // Gitea's own registry (docs/upstream-facts.md#chart-images.gitea).
  'docker.gitea.com',
] as const;
export type MirroredRegistry = (typeof MIRRORED_REGISTRIES)[number];

/** The generator of one registry's hosts.toml (`containerd-hosts-docker-io`). */
export const hostsTomlGenerator = (r: MirroredRegistry) =>
  `containerd-hosts-${r.replace(/\./g, '-')}`;

/** `host:port` of each controller's registry, this host's own first when it is a controller. */
export function siteRegistryEndpoints(ctx: HostContext): string[] {
  const net = ctx.management.name;
  const own = ctx.isController ? [ctx.server] : [];
  const rest = ctx.controllers.filter((c) => c.hostname !== ctx.server.hostname);
  return [...own, ...rest].map((c) => `${c.addresses[net]!}:${SITE_REGISTRY_PORT}`);
}

/**
 * containerd's hosts.toml for one upstream registry. On an air-gapped site every controller's
 * registry is a `host` (tried in order) and the first is also the `server`, so the upstream
 * is never a fallback (containerd adds the upstream only when `server` is empty,
 * docs/upstream-facts.md#registry-containerd-server-fallback). Each URL's path is the API
 * root with the upstream's prefix, kept as it is by `override_path`
 * (docs/upstream-facts.md#oci-containerd-host-path, #registry-containerd-override-path);
 * `http://` makes containerd speak plain HTTP (#registry-containerd-http-scheme).
 * On a connected site containerd's `config_path` is not set, so the file is not read; it
 * names the upstream as containerd's default would, to say what applies.
 */
export function containerdHostsToml(upstream: MirroredRegistry) {
  return (ctx: HostContext): string => {
    const head = [`# uStart: where containerd pulls ${upstream} images. Rendered, do not edit.`];
    if (!ctx.plan.site.airGapped) {
      return [
        ...head,
        '# Connected site: containerd has no config_path, so it pulls from the upstream and',
        '# does not read this file.',
        `server = "https://${upstream === 'docker.io' ? 'registry-1.docker.io' : upstream}"`,
        '',
      ].join('\n');
    }
    return mirrorHostsToml(upstream, siteRegistryEndpoints(ctx), head);
  };
}

/**
 * distribution's configuration on a controller: filesystem storage, anonymous access,
 * listening on the management address only, read-only (docs/upstream-facts.md#registry-readonly):
 * the images are pushed through a second, loopback-only writer the step starts for the push
 * (site-registry.sh), so nothing on the network can replace a tag.
 */
export function siteRegistryConfig(ctx: HostContext): string {
  return [
    '# uStart: the site registry (Debian docker-registry). Rendered, do not edit.',
    toYaml({
      version: 0.1,
      log: { fields: { service: 'registry' } },
      storage: {
        filesystem: { rootdirectory: SITE_REGISTRY_STORAGE },
        maintenance: { readonly: { enabled: true } },
      },
      http: {
        addr: `${ctx.managementIp}:${SITE_REGISTRY_PORT}`,
        headers: { 'X-Content-Type-Options': ['nosniff'] },
      },
    }),
  ].join('\n');
}

/** The loopback writer the push goes through: same storage, writable, 127.0.0.1 only. */
export const SITE_REGISTRY_WRITER = `127.0.0.1:${SITE_REGISTRY_PORT + 1}`;

/** The writer's configuration (site-registry.sh starts it for the push, then stops it). */
export function siteRegistryWriterConfig(): string {
  return [
    "# uStart: the site registry's loopback writer, only while the bundle is pushed. Rendered.",
    toYaml({
      version: 0.1,
      log: { fields: { service: 'registry-writer' } },
      storage: { filesystem: { rootdirectory: SITE_REGISTRY_STORAGE } },
      http: { addr: SITE_REGISTRY_WRITER },
    }),
  ].join('\n');
}

/**
 * The air-gapped hosts.toml for `upstream`: every site registry `endpoint` a `host`, tried in
 * order, the first also the `server` (the rules of containerdHostsToml above). The workload
 * clusters' machines get the same files (ugarden.ts, `gardenMirrorFiles`).
 */
export function mirrorHostsToml(
  upstream: MirroredRegistry,
  endpoints: readonly string[],
  head: readonly string[],
): string {
  const url = (endpoint: string) => `http://${endpoint}/v2/${upstream}`;
  return [
    ...head,
    '# Air-gapped site: the site registry on the controllers, never the upstream.',
    `server = "${url(endpoints[0]!)}"`,
    'override_path = true',
    'capabilities = ["pull", "resolve"]',
    ...endpoints.flatMap((e) => [
      '',
      `[host."${url(e)}"]`,
      '  capabilities = ["pull", "resolve"]',
      '  override_path = true',
    ]),
    '',
  ].join('\n');
}

/**
 * KubeadmConfigSpec `files` giving a workload cluster's machines the site registry's mirrors,
 * on an air-gapped site (none on a connected one). The CAPI node image's containerd already
 * reads `/etc/containerd/certs.d` (docs/upstream-facts.md#imagebuilder.containerd-config-path),
 * re-read at every pull (#registry-containerd-hosts-reload), and CAPI writes `files` before
 * kubeadm runs (#capi.bootstrap-files-order): kubeadm's and the kubelet's pulls go to the
 * site. The machines must reach the controllers' management addresses on port 5000 through
 * their router (docs/ugarden-workload-cluster.md, "Images on an air-gapped site").
 */
export function gardenMirrorFiles(ctx: HostContext) {
  if (!ctx.plan.site.airGapped) return [];
  const net = ctx.management.name;
  const endpoints = ctx.controllers.map((c) => `${c.addresses[net]!}:${SITE_REGISTRY_PORT}`);
  return MIRRORED_REGISTRIES.map((r) => ({
    path: `${CONTAINERD_CERTS_D}/${r}/hosts.toml`,
    owner: 'root:root',
    permissions: '0644',
    content: mirrorHostsToml(r, endpoints, [
      `# uStart: where containerd pulls ${r} images on the workload cluster's machines.`,
    ]),
  }));
}
