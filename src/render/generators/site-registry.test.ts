/**
 * The site registry's rendered files: containerd's hosts.toml per upstream registry and its
 * config_path, distribution's configuration. That containerd and distribution really read
 * them as meant is proven in the lab (test/integration/site-registry-lab.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPlanFile } from '../../plan/load.js';
import type { Plan } from '../../plan/schema.js';
import { assetPath } from '../../util/assets.js';
import { defaultRunbookDir } from '../../runbook/load.js';
import { hostContext, siteContext, type HostContext } from '../context.js';
import { hostEnvFile } from '../host-env.js';
import { CEPH_IMAGE } from './ceph.js';
import { CAPI_PROVIDERS } from './capi-repository.js';
import { containerdConfig, KUBE_VIP_IMAGE, PAUSE_IMAGE } from './kubernetes.js';
import {
  containerdHostsToml,
  MIRRORED_REGISTRIES,
  siteRegistryConfig,
  siteRegistryEndpoints,
  siteRegistryWriterConfig,
} from './site-registry.js';

/** The keys of distribution's configuration this test reads. */
interface RegistryConfig {
  http: { addr: string };
  storage: {
    filesystem: { rootdirectory: string };
    maintenance?: { readonly: { enabled: boolean } };
  };
  auth?: unknown;
}

let demo: Plan;
beforeAll(async () => {
  demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
});

function hosts(airGapped: boolean): HostContext[] {
  const plan = structuredClone(demo);
  plan.site.airGapped = airGapped;
  const site = siteContext(plan);
  return site.members.map((s) => hostContext(site, s));
}

/** `[host."URL"]` tables and the root `server`, in file order. */
function endpointsOf(toml: string) {
  const hostUrls = [...toml.matchAll(/^\[host\."([^"]+)"\]$/gm)].map((m) => m[1]);
  const server = /^server = "([^"]+)"$/m.exec(toml)?.[1];
  return { hostUrls, server };
}

describe('containerd hosts.toml on an air-gapped site', () => {
  it('sends every upstream registry to every controller registry, own first, never upstream', () => {
    for (const ctx of hosts(true)) {
      const controllers = ctx.controllers.map((c) => c.addresses[ctx.management.name]);
      for (const r of MIRRORED_REGISTRIES) {
        const toml = containerdHostsToml(r)(ctx);
        const { hostUrls, server } = endpointsOf(toml);
        expect(hostUrls.map((u) => new URL(u!).hostname).sort()).toEqual([...controllers].sort());
        if (ctx.isController) expect(new URL(hostUrls[0]!).hostname).toBe(ctx.managementIp);
        for (const u of [...hostUrls, server]) {
          const url = new URL(u!);
          expect(url.protocol).toBe('http:');
          expect(url.port).toBe('5000');
          expect(url.pathname).toBe(`/v2/${r}`);
        }
        // The server is set, so containerd adds no upstream default after the hosts.
        expect(server).toBe(hostUrls[0]);
        expect(toml).not.toMatch(/https:|registry-1\.docker\.io/);
        // One override_path for the server and one per host: the path is the API root as is.
        expect(toml.match(/override_path = true/g)).toHaveLength(hostUrls.length + 1);
        expect(toml).not.toMatch(/"push"/);
      }
    }
  });

  it('points containerd at the hosts.toml files (the old configuration had no config_path)', () => {
    for (const ctx of hosts(true)) {
      expect(containerdConfig(ctx)).toMatch(
        /^\[plugins\."io\.containerd\.grpc\.v1\.cri"\.registry\]\n {2}config_path = "\/etc\/containerd\/certs\.d"$/m,
      );
    }
  });
});

describe('on a connected site', () => {
  it('leaves containerd on its upstream default: no config_path', () => {
    for (const ctx of hosts(false)) {
      expect(containerdConfig(ctx)).not.toMatch(/config_path/);
      expect(endpointsOf(containerdHostsToml('docker.io')(ctx)).server).toBe(
        'https://registry-1.docker.io',
      );
      expect(endpointsOf(containerdHostsToml('quay.io')(ctx)).hostUrls).toEqual([]);
    }
  });
});

describe('the registries the rendered configuration names', () => {
  it('are all mirrored', () => {
    const images = [PAUSE_IMAGE, KUBE_VIP_IMAGE, CEPH_IMAGE, ...CAPI_PROVIDERS.map((p) => p.image)];
    for (const i of images) expect(MIRRORED_REGISTRIES).toContain(i.slice(0, i.indexOf('/')));
  });
});

describe("distribution's configuration", () => {
  it('serves read-only on the management address; the writer only on loopback', () => {
    const [ctx] = hosts(true).filter((h) => h.isController);
    const cfg = parse(siteRegistryConfig(ctx!)) as RegistryConfig;
    expect(cfg.http.addr).toBe(`${ctx!.managementIp}:5000`);
    expect(cfg.storage.maintenance?.readonly.enabled).toBe(true);
    expect(cfg.auth).toBeUndefined();
    const writer = parse(siteRegistryWriterConfig()) as RegistryConfig;
    expect(writer.http.addr).toBe('127.0.0.1:5001');
    expect(writer.storage.filesystem.rootdirectory).toBe(cfg.storage.filesystem.rootdirectory);
    expect(siteRegistryEndpoints(ctx!)).toHaveLength(ctx!.controllers.length);
  });
});

describe('site_registry_path (lib.sh), where site-registry.sh pushes an image', () => {
  it('keeps the upstream name with its registry, the tag, and tags a digest-only reference', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ustart-site-registry-'));
    try {
      const ctx = hosts(true)[0]!;
      await mkdir(join(root, 'hosts', ctx.server.hostname), { recursive: true });
      await writeFile(join(root, 'hosts', ctx.server.hostname, 'env'), hostEnvFile(ctx));
      const lib = join(defaultRunbookDir(), 'scripts', 'lib.sh');
      const cases: [string, string][] = [
        ['docker.io/library/nginx:1.27', 'docker.io/library/nginx:1.27'],
        ['docker.io/library/nginx', 'docker.io/library/nginx:latest'],
        ['quay.io/ceph/ceph:v19.2.2@sha256:0123abcd', 'quay.io/ceph/ceph:v19.2.2'],
        ['registry.k8s.io/pause@sha256:0123abcd', 'registry.k8s.io/pause:sha256-0123abcd'],
        ['localhost:5000/team/app@sha256:0123abcd', 'localhost:5000/team/app:sha256-0123abcd'],
        ['localhost:5000/team/app', 'localhost:5000/team/app:latest'],
      ];
      const script = `. "$1"; shift; for n in "$@"; do site_registry_path "$n"; done`;
      const r = spawnSync('bash', ['-c', script, 'bash', lib, ...cases.map(([n]) => n)], {
        encoding: 'utf8',
        env: { ...process.env, USTART_ROOT: root },
      });
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n').slice(0, -1)).toEqual(cases.map(([, p]) => p));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
