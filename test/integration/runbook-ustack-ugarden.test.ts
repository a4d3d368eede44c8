/**
 * The uStack and uGarden phases of the default runbook, then their resets and uMetal's, run
 * by the real engine over SSH on 5 lab hosts (3 controllers, 1 compute, 1 storage), against
 * test doubles of kubectl, helm, clusterctl, kubeadm and the openstack client that validate
 * what they receive and share one model of the cluster (test/doubles/cluster.mjs); git is
 * real (Gitea's double serves repositories with git http-backend), and so are curl, openssl
 * and every file the scripts write.
 *
 * uMetal is not run here (runbook-umetal.test.ts covers it): the doubles' state is seeded as
 * uMetal leaves it (a cluster with admin.conf, labelled nodes, Rook's CephCluster and the
 * ceph-block StorageClass), and the host folders it leaves are made by hand, so the uMetal
 * reset has something to remove.
 *
 * The steps run one after the other as the phases do on a site: each later test builds on
 * what the earlier left, as a consultant's runs do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  RunEngine,
  resolverFromPlan,
  type RunResult,
  type StepSpec,
} from '../../src/engine/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import { ROLE_LABELS } from '../../src/render/generators/kubernetes.js';
import {
  GARDEN_API_ADDRESS_PLACEHOLDER,
  GARDEN_NETWORK,
  NODE_IMAGE,
} from '../../src/render/generators/garden-objects.js';
import {
  GITEA_CHART,
  WORKLOAD_ADDONS,
  addonConfigMap,
  cloudConfSecret,
} from '../../src/render/generators/ugarden.js';
import {
  bundleFiles,
  CAPI_PROVIDERS,
  CAPI_VERSION,
  CAPO_VERSION,
  ORC_CRD,
  ORC_VERSION,
} from '../../src/render/generators/capi-repository.js';
import { bomChart } from '../../src/render/bom.js';
import { Renderer } from '../../src/render/render.js';
import { loadSiteRunbook, toStepSpecs } from '../../src/render/step-specs.js';
import type { Phase } from '../../src/runbook/schema.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import { createLab, type Lab, type LabHost } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { recordEvents } from '../support/engine-events.js';
import { shareCluster } from '../support/umetal-lab.js';
import { libShArray } from '../support/runbook-scripts.js';
import { walk } from '../support/walk.js';

const available = labAvailable();
const DOUBLES = fileURLToPath(new URL('../doubles/', import.meta.url));
const HOST_DOUBLES = '/usr/local/lib/ustart-doubles';
const STATE = '/var/lib/ustart-doubles';
const TOOLS = ['kubeadm', 'kubectl', 'helm', 'clusterctl', 'openstack'];
const BUNDLE = '/var/lib/ustart/bundle';
/** The operators the runbook installs, read from lib.sh (as the scripts do). */
const YAOOK_OPERATORS = libShArray('YAOOK_OPERATORS');
const SERVICES = ['keystone', 'glance', 'nova', 'neutron', 'cinder', 'horizon'];
/** Yaook's chart versions have the form 0.YYYYMMDD.N (docs/upstream-facts.md#yaook.operator-charts). */
const YAOOK_CHART_VERSION = '0.20250724.0';
/** The Ceph cluster's fsid, as Rook keeps it in its Secret rook-ceph-mon. */
const CEPH_FSID = '7b4d1c9e-2f3a-4c5b-8d6e-9f0a1b2c3d4e';

interface Call {
  clockNs: string;
  host: string;
  tool: string;
  argv: string[];
  ok: boolean;
  message?: string;
  seen?: Record<string, unknown>;
}

/** JSON the doubles wrote; the assertions themselves check its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Objects = Record<
  string,
  {
    kind: string;
    apiVersion: string;
    metadata: Json;
    spec?: Json;
    type?: string;
    data?: Record<string, string>;
  }
>;

/**
 * The lab's plan with a provider network, as a real plan has: the compute server carries it
 * untagged on eth1 (OVN's uplink, no address), and Neutron hands out a range of it, with a
 * router (openstack.externalNetwork).
 */
function withProviderNetwork(lab: Plan): Plan {
  const plan = structuredClone(lab);
  plan.networks.push({
    name: 'provider',
    purpose: 'provider',
    cidr: '10.251.0.0/24',
    gateway: '10.251.0.1',
    mtu: 1500,
  });
  plan.servers.forEach((s, i) => {
    if (!s.roles.includes('compute')) return;
    // Sized as a real compute server: uGarden sizes the workload cluster's flavors from it
    // (garden-objects.ts gardenFlavors); nothing in these phases reads the lab host's own.
    s.cpu = { sockets: 2, cores: 16, threads: 2 };
    s.memoryGiB = 256;
    s.nics.push({
      name: 'eth1',
      mac: `02:00:00:01:00:${(i & 0xff).toString(16).padStart(2, '0')}`,
      speedGbps: 10,
      network: 'provider',
    });
  });
  plan.openstack.externalNetwork = {
    floatingRange: { start: '10.251.0.100', end: '10.251.0.200' },
    router: true,
  };
  return plan;
}

describe.skipIf(!available)(
  'uStack, uGarden and the resets on 5 lab hosts with test doubles',
  () => {
    let lab: Lab;
    let tmp: string;
    let plan: Plan;
    let renderer: Renderer;
    let first: LabHost;
    let ingress: ChildProcess | undefined;
    const disposers: (() => Promise<unknown>)[] = [];
    let lastFailures = '';
    /** The doubles' cluster state, on this machine, mounted on every host at STATE. */
    let cluster: string;
    /** Ceph's monitors as ceph.conf's mon_host lists them: Rook's on the controllers. */
    const monHost = () =>
      lab.hosts
        .filter((h) => h.role === 'controller')
        .map((h) => `${h.address}:6789`)
        .join(',');

    /** Writes a file into a lab host's root (the hosts cannot see this checkout's mounts). */
    async function put(h: LabHost, path: string, content: string | Uint8Array, mode = 0o644) {
      const full = `/proc/${h.pid}/root${path}`;
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content, { mode });
    }

    async function sh(h: LabHost, command: string): Promise<string> {
      const r = await lab.exec(h, command);
      expect(r.code, `${command}\n${r.stderr}`).toBe(0);
      return r.stdout;
    }

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'ustart-ustack-lab-'));
      // Each host's second link eth1 is the compute server's provider uplink (test/lab:
      // secondLink); uMetal is not run here, so nothing configures it, but the plan names a
      // NIC the host has.
      lab = await createLab({ hosts: 5, secondLink: true });
      plan = withProviderNetwork((await loadPlanFile(lab.planPath)).plan!);
      renderer = await Renderer.create(plan, await loadSiteRunbook());
      first = lab.hosts[0]!;
      // One cluster whichever host a tool runs on (test/doubles/lib.mjs).
      cluster = join(tmp, 'cluster');
      await mkdir(cluster, { recursive: true });
      for (const h of lab.hosts) await shareCluster(h.pid, cluster);
      // Each double bundled with what it imports into one file (see runbook-umetal.test.ts).
      const bundled = async (name: string) => {
        const built = await build({
          entryPoints: [join(DOUBLES, `${name}.mjs`)],
          bundle: true,
          platform: 'node',
          format: 'esm',
          write: false,
          logLevel: 'silent',
          banner: {
            js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
          },
        });
        return built.outputFiles[0]!.contents;
      };
      const doubles = await Promise.all(TOOLS.map(async (t) => ({ t, code: await bundled(t) })));
      const ingressCode = await bundled('ingress');
      for (const h of lab.hosts) {
        for (const { t, code } of doubles) {
          await put(h, `${HOST_DOUBLES}/${t}.mjs`, code);
          await put(
            h,
            `/usr/local/bin/${t}`,
            `#!/bin/sh\nexec /usr/bin/node ${HOST_DOUBLES}/${t}.mjs "$@"\n`,
            0o755,
          );
        }
        await seedUmetal(h);
      }
      await put(first, `${HOST_DOUBLES}/ingress.mjs`, ingressCode);
      await seedCluster();
      await seedBundle();
      // kube-vip's part: the public VIP on the first controller, where the ingress listens.
      await sh(first, `ip addr add ${plan.openstack.publicVip}/32 dev eth0`);
      ingress = spawn(
        'nsenter',
        [
          '-t',
          String(first.pid),
          '-m',
          '-u',
          '-n',
          '-r',
          '-w',
          '/usr/bin/node',
          `${HOST_DOUBLES}/ingress.mjs`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        ingress!.once('exit', (code) => reject(new Error(`the ingress double exited (${code})`)));
        ingress!.stdout!.on('data', (c: Buffer) => {
          if (c.toString().includes('listening')) resolve();
        });
      });
    }, 120_000);

    afterAll(async () => {
      if (ingress && ingress.exitCode === null) {
        const exited = new Promise((r) => ingress!.once('exit', r));
        ingress.kill('SIGTERM');
        await exited;
      }
      for (const d of disposers.splice(0)) await d();
      await lab?.dispose();
      await rm(tmp, { recursive: true, force: true });
    });

    /** What uMetal leaves on a host: the API's credentials, the kubelet's and CNI's folders. */
    async function seedUmetal(h: LabHost) {
      await put(h, '/etc/kubernetes/admin.conf', 'apiVersion: v1\nkind: Config\n', 0o600);
      await put(h, '/var/lib/kubelet/pods/.keep', '');
      await put(h, '/etc/cni/net.d/05-cilium.conflist', '{}\n');
      if (h.role === 'controller') await put(h, '/var/lib/etcd/member/.keep', '');
      // What Nova, libvirt and OVN leave on a compute node.
      if (h.role === 'compute') {
        await put(h, '/var/lib/nova/instances/_base/.keep', '');
        await put(h, '/var/lib/libvirt/qemu/.keep', '');
        await put(h, '/var/lib/openvswitch/conf.db', '{}\n');
      }
    }

    /** The doubles' cluster as uMetal leaves it: nodes with their role labels, Rook, ceph-block. */
    async function seedCluster() {
      const state = (name: string, value: unknown) =>
        writeFile(join(cluster, name), JSON.stringify(value, null, 2), { mode: 0o600 });
      const b64 = (text: string) => Buffer.from(text).toString('base64');
      const mons = lab.hosts
        .filter((h) => h.role === 'controller')
        .map((h, i) => `${String.fromCharCode(97 + i)}=${h.address}:6789`);
      await state(
        'nodes.json',
        plan.servers.map((s) => s.hostname),
      );
      await state(
        'nodes-meta.json',
        Object.fromEntries(
          plan.servers.map((s) => [
            s.hostname,
            {
              labels: Object.assign(
                { 'kubernetes.io/hostname': s.hostname },
                ...s.roles.map((r) => ROLE_LABELS[r]),
              ),
              taints: [],
            },
          ]),
        ),
      );
      await state('helm.json', {
        'kube-system/cilium': { chart: `${BUNDLE}/charts/cilium-1.16.5.tgz` },
        'rook-ceph/rook-ceph': { chart: `${BUNDLE}/charts/rook-ceph-v1.15.5.tgz` },
      });
      await state('objects.json', {
        'Namespace/default/kube-system': {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'kube-system' },
        },
        'CephCluster/rook-ceph/ceph': {
          apiVersion: 'ceph.rook.io/v1',
          kind: 'CephCluster',
          metadata: { name: 'ceph', namespace: 'rook-ceph' },
          spec: { storage: { nodes: [] } },
        },
        // What Rook keeps about the running Ceph (docs/upstream-facts.md#rook.mon-endpoints, #rook.fsid).
        'ConfigMap/rook-ceph/rook-ceph-mon-endpoints': {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'rook-ceph-mon-endpoints', namespace: 'rook-ceph' },
          data: { data: mons.join(','), mapping: '{"node":{}}', maxMonId: '2' },
        },
        'Secret/rook-ceph/rook-ceph-mon': {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'rook-ceph-mon', namespace: 'rook-ceph' },
          type: 'kubernetes.io/rook',
          data: { fsid: b64(CEPH_FSID), 'mon-secret': b64('AQ-lab-mon-key') },
        },
        'StorageClass/default/ceph-block': {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: 'ceph-block' },
          provisioner: 'rook-ceph.rbd.csi.ceph.com',
        },
      });
    }

    /** The parts of an offline bundle these phases read: charts, Flux, CAPI's providers, CirrOS. */
    async function seedBundle() {
      const charts = [
        `cert-manager:${bomChart('cert-manager').version}`,
        `ingress-nginx:${bomChart('ingress-nginx').version}`,
        `crds:${YAOOK_CHART_VERSION}`,
        `gitea:${GITEA_CHART.version}`,
        ...YAOOK_OPERATORS.map((o) => `${o}-operator:${YAOOK_CHART_VERSION}`),
      ];
      // Chart archives as Helm makes them: NAME/Chart.yaml inside a .tgz.
      await sh(
        first,
        `set -e; w=$(mktemp -d); mkdir -p ${BUNDLE}/charts
       for c in ${charts.join(' ')}; do
         n=\${c%%:*}; v=\${c#*:}; mkdir -p "$w/$n"
         printf 'apiVersion: v2\\nname: %s\\nversion: %s\\n' "$n" "\${v#v}" >"$w/$n/Chart.yaml"
         tar -C "$w" -czf "${BUNDLE}/charts/$n-$v.tgz" "$n"
       done; rm -rf "$w"`,
      );
      const crd = (group: string, kind: string) => ({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${kind.toLowerCase()}s.${group}` },
        spec: {
          group,
          names: { kind, plural: `${kind.toLowerCase()}s`, singular: kind.toLowerCase() },
          scope: 'Namespaced',
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          ],
        },
      });
      const controller = (name: string) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: 'flux-system' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              containers: [{ name: 'manager', image: `ghcr.io/fluxcd/${name}:v1.4.1` }],
            },
          },
        },
      });
      await put(
        first,
        `${BUNDLE}/files/flux/install.yaml`,
        [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system' } },
          crd('source.toolkit.fluxcd.io', 'GitRepository'),
          crd('kustomize.toolkit.fluxcd.io', 'Kustomization'),
          controller('source-controller'),
          controller('kustomize-controller'),
        ]
          .map((d) => stringify(d))
          .join('---\n'),
      );
      const ORC_IMAGE = `quay.io/orc/openstack-resource-controller:${ORC_VERSION}`;
      // clusterctl's local repository and ORC, as bundleFiles() names them: components with
      // the provider's controller image, a metadata.yaml whose series cover the version.
      for (const { name } of bundleFiles()) {
        const p = CAPI_PROVIDERS.find((x) => name.endsWith(`/${x.version}/${x.components}`));
        const version = name.split('/').at(-2)!;
        const [major, minor] = version.slice(1).split('.').map(Number);
        const text = name.startsWith('orc/')
          ? [
              { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'orc-system' } },
              { ...crd('openstack.k-orc.cloud', 'Image'), metadata: { name: ORC_CRD } },
              {
                ...controller('orc-controller-manager'),
                metadata: { name: 'orc-controller-manager', namespace: 'orc-system' },
              },
            ]
              .map((d) => stringify(d).replace(/image: .*/, `image: ${ORC_IMAGE}`))
              .join('---\n')
          : name.endsWith('/metadata.yaml')
            ? stringify({
                apiVersion: 'clusterctl.cluster.x-k8s.io/v1alpha3',
                kind: 'Metadata',
                releaseSeries: [{ major, minor, contract: 'v1beta1' }],
              })
            : stringify({
                ...controller(`${p!.name}-controller-manager`),
                metadata: { name: 'controller-manager', namespace: `${p!.name}-system` },
              }).replace(/image: .*/, `image: ${p!.image}`);
        await put(first, `${BUNDLE}/files/${name}`, text);
      }
      // The workload cluster's addons: stand-ins with the upstream release files' names, and
      // for the CNI and the CCM a workload with the upstream image, which is what the
      // cluster double looks for (docs/upstream-facts.md#capo.templates-addons).
      for (const addon of WORKLOAD_ADDONS)
        for (const file of addon.files) {
          const base = file.split('/').at(-1)!;
          const image = {
            'calico.yaml': 'docker.io/calico/node:v3.29.3',
            'openstack-cloud-controller-manager-ds.yaml':
              'registry.k8s.io/provider-os/openstack-cloud-controller-manager:v1.31.4',
          }[base];
          await put(
            first,
            `${BUNDLE}/files/ugarden/addons/${file}`,
            stringify(
              image
                ? {
                    apiVersion: 'apps/v1',
                    kind: 'DaemonSet',
                    metadata: { name: base.replace(/\.yaml$/, ''), namespace: 'kube-system' },
                    spec: { template: { spec: { containers: [{ name: 'main', image }] } } },
                  }
                : {
                    apiVersion: 'v1',
                    kind: 'ServiceAccount',
                    metadata: { name: base.replace(/\.yaml$/, ''), namespace: 'kube-system' },
                  },
            ),
          );
        }
      // A qcow2 header is all the openstack double looks at.
      await put(
        first,
        `${BUNDLE}/files/images/cirros-0.6.3-x86_64-disk.qcow2`,
        Buffer.concat([Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'), Buffer.alloc(1024)]),
      );
      // The Kubernetes node image of the workload cluster (ugarden.openstack-objects).
      await put(
        first,
        `${BUNDLE}/${NODE_IMAGE.file}`,
        Buffer.concat([Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'), Buffer.alloc(1024)]),
      );
    }

    async function run(phase: Phase): Promise<RunResult> {
      const specs: StepSpec[] = toStepSpecs(renderer, [phase]);
      const transport = new Ssh2Transport({
        knownHosts: new KnownHosts(lab.knownHostsPath),
        agentSocket: null,
        identityFiles: [lab.clientKeyPath],
      });
      disposers.push(() => transport.dispose());
      const engine = new RunEngine({
        transport,
        runsDir: join(tmp, 'runs'),
        steps: specs,
        hosts: new Map(lab.hosts.map((h) => [h.name, lab.target(h.index)])),
        resolveTargets: resolverFromPlan(plan),
        retryDelayMs: () => 0,
        clusterLock: false,
      });
      const events = recordEvents(engine);
      disposers.push(async () => events.dispose());
      const result = await engine.run();
      lastFailures = events
        .of('host-step-finished')
        .filter((e) => e.state !== 'succeeded' && e.state !== 'skipped')
        .map(
          (e) =>
            `${e.stepId}@${e.host}: ${e.state} ${e.message ?? ''}\n${events.output(e.stepId, e.host)}`,
        )
        .join('\n');
      ran = events
        .of('host-step-finished')
        .filter((e) => e.state === 'succeeded')
        .map((e) => `${e.stepId}@${e.host}\n${events.output(e.stepId, e.host)}`)
        .join('\n');
      return result;
    }
    /** The host-steps that ran (not skipped) in the last run, with their output. */
    let ran = '';

    async function calls(): Promise<Call[]> {
      const text = await readFile(join(cluster, 'calls.jsonl'), 'utf8').catch(() => '');
      const all = text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Call);
      return all.sort((a, b) => (BigInt(a.clockNs) < BigInt(b.clockNs) ? -1 : 1));
    }

    const objects = async (): Promise<Objects> =>
      JSON.parse(await sh(first, `cat ${STATE}/objects.json`)) as Objects;
    const releases = async (): Promise<string[]> =>
      Object.keys(JSON.parse(await sh(first, `cat ${STATE}/helm.json`)) as object);
    const secret = (o: Objects, key: string, field: string) =>
      Buffer.from(o[key]!.data![field]!, 'base64').toString('utf8');

    function rendered(stepId: string, path: string): string {
      const step = renderer.runbook.byId.get(stepId)!;
      const upload = renderer
        .renderStep(step)
        .perHost[0]!.uploads.find((u) => u.path.endsWith(`/files${path}`));
      return upload!.content.toString();
    }

    /** The first index of a call matching `match`; fails when there is none. */
    function indexOf(all: Call[], what: string, match: (c: Call) => boolean): number {
      const i = all.findIndex(match);
      expect(i, `no call: ${what}`).toBeGreaterThanOrEqual(0);
      return i;
    }
    const appliedKey = (key: string) => (c: Call) =>
      c.tool === 'kubectl' &&
      c.ok &&
      c.argv.includes('apply') &&
      ((c.seen?.applied as string[]) ?? []).includes(key);

    let keystonePassword = '';

    it(
      'installs uStack: infrastructure, then Keystone, then the services, and a smoke test',
      { timeout: 360_000 },
      async () => {
        const result = await run('ustack');
        expect(result.state, lastFailures).toBe('succeeded');
        const all = (await calls()).filter((c) => c.host === first.name || c.tool === 'ingress');

        // Operators (from the bundle's charts) before anything they reconcile.
        const helm = all.filter((c) => c.tool === 'helm' && c.argv[0] === 'upgrade' && c.ok);
        expect(helm.map((c) => c.argv[2])).toEqual([
          'cert-manager',
          'ingress-nginx',
          'yaook-crds',
          ...YAOOK_OPERATORS.map((o) => `yaook-${o}`),
        ]);
        for (const c of helm) expect(c.argv[3]!.startsWith(`${BUNDLE}/charts/`)).toBe(true);
        const lastOperator = all.indexOf(helm.at(-1)!);
        const infra = indexOf(all, 'infra applied', appliedKey('Issuer/yaook/ca-issuer'));
        const keystone = indexOf(
          all,
          'keystone applied',
          appliedKey('KeystoneDeployment/yaook/keystone'),
        );
        expect(lastOperator).toBeLessThan(infra);
        expect(infra).toBeLessThan(keystone);
        const at = Object.fromEntries(
          SERVICES.map((s) => [
            s,
            indexOf(
              all,
              `${s} applied`,
              appliedKey(`${s[0]!.toUpperCase()}${s.slice(1)}Deployment/yaook/${s}`),
            ),
          ]),
        );
        for (const s of SERVICES.slice(1)) expect(at[s]).toBeGreaterThan(keystone);
        expect(at.nova).toBeGreaterThan(at.glance!);
        // Neutron names Nova (novaRef): Nova's resource exists first.
        expect(at.neutron).toBeGreaterThan(at.nova!);

        // Every value from the plan; the files on the host are the rendered ones.
        const o = await objects();
        for (const s of SERVICES) {
          const kind = `${s[0]!.toUpperCase()}${s.slice(1)}Deployment`;
          const spec = o[`${kind}/yaook/${s}`]!.spec;
          expect(spec.targetRelease).toBe(plan.openstack.release);
          expect(spec.api?.ingress?.fqdn ?? spec.ingress.fqdn).toBe(`${s}.${plan.site.domain}`);
          if (s !== 'horizon') expect(spec.region.name).toBe(plan.openstack.region);
          expect(await sh(first, `cat /etc/ustart/ustack/${s}.yaml`)).toBe(
            rendered(`ustack.${s}`, `/etc/ustart/ustack/${s}.yaml`),
          );
        }
        // Ceph's monitors and fsid reached every Ceph backend as Rook has them.
        for (const key of ['GlanceDeployment/yaook/glance', 'CinderDeployment/yaook/cinder']) {
          const text = JSON.stringify(o[key]!.spec);
          expect(text).toContain(`"mon_host":"${monHost()}"`);
          expect(text).toContain(`"fsid":"${CEPH_FSID}"`);
        }
        const nova = o['NovaDeployment/yaook/nova']!.spec;
        expect(nova.compute.configTemplates[0].volumeBackends.ceph.cephConfig.global).toEqual({
          mon_host: monHost(),
          fsid: CEPH_FSID,
        });
        expect(nova.placement.ingress.fqdn).toBe(`placement.${plan.site.domain}`);
        expect(
          o['Service/ingress-nginx/openstack-public']!.metadata.annotations[
            'kube-vip.io/loadbalancerIPs'
          ],
        ).toBe(plan.openstack.publicVip);
        // Rook's keyrings reached the namespace of the services, without Rook's metadata.
        for (const client of ['glance', 'cinder', 'nova']) {
          const copy = o[`Secret/yaook/rook-ceph-client-${client}`]!;
          expect(copy.metadata.ownerReferences).toBeUndefined();
          expect(copy.data).toEqual(o[`Secret/rook-ceph/rook-ceph-client-${client}`]!.data);
        }

        // The public endpoints answered on the VIP, through the ingress, with the root CA.
        const asked = all.filter((c) => c.tool === 'ingress' && c.ok);
        expect(new Set(asked.map((c) => c.argv[1]))).toEqual(
          new Set([
            `https://keystone.${plan.site.domain}/v3`,
            `https://horizon.${plan.site.domain}/`,
          ]),
        );
        for (const c of asked) expect(c.seen!.address).toBe(plan.openstack.publicVip);

        // The smoke test made a server that became ACTIVE, then removed everything it made.
        const os = all.filter((c) => c.tool === 'openstack' && c.ok);
        const created = os
          .filter((c) => c.argv[1] === 'create' && /^ustart[-.]smoke/.test(String(c.argv[2])))
          .map((c) => c.argv[0]);
        expect(created).toEqual(['network', 'subnet', 'flavor', 'image', 'server']);

        // ustack.provider-network made the provider network in Neutron, on the physnet the
        // NeutronDeployment lists as flat and bridges to the compute server's eth1.
        const provider = os.filter(
          (c) =>
            ['provider', 'provider-subnet', 'provider-router'].includes(String(c.argv[2])) &&
            ['create', 'set'].includes(String(c.argv[1])),
        );
        expect(provider.map((c) => c.argv.slice(0, 3).join(' '))).toEqual([
          'network create provider',
          'subnet create provider-subnet',
          'router create provider-router',
          'router set provider-router',
        ]);
        expect(provider[0]!.argv).toEqual(
          expect.arrayContaining(['--external', '--provider-physical-network', 'provider']),
        );
        expect(provider[3]!.seen!.bridged).toBe(true);
        const neutronSpec = (await objects())['NeutronDeployment/yaook/neutron']!.spec;
        expect(
          neutronSpec.setup.ovn.controller.configTemplates[0].bridgeConfig[0].uplinkDevice,
        ).toBe('eth1');
        expect(
          os.some((c) => c.argv.join(' ') === 'server show ustart-smoke -f value -c status'),
        ).toBe(true);
        const left = JSON.parse(await sh(first, `cat ${STATE}/openstack.json`));
        for (const k of ['flavor', 'image', 'server']) expect(left[k]).toEqual({});
        // What remains in Neutron is the provider network, not the smoke test's.
        expect(Object.keys(left.network)).toEqual(['provider']);
        expect(Object.keys(left.subnet)).toEqual(['provider-subnet']);

        // Keystone's admin password never reached a command line, the engine's run folder or a log.
        // Its user is Yaook's, and its password has characters a YAML file must quote.
        expect(secret(o, 'Secret/yaook/keystone-admin', 'OS_USERNAME')).toBe('yaook-sys-maint');
        keystonePassword = secret(o, 'Secret/yaook/keystone-admin', 'OS_PASSWORD');
        expect(keystonePassword).toMatch(/^[A-Za-z0-9+/]{16}'"\\: #$/);
        // Its random part, which JSON's escaping of quotes cannot hide.
        const random = keystonePassword.slice(0, 16);
        expect(JSON.stringify(await calls())).not.toContain(random);
        for (const file of await walk(join(tmp, 'runs')))
          expect(await readFile(file, 'utf8'), file).not.toContain(random);

        // Every controller trusts the site's root CA; the other hosts were not touched.
        const ca = secret(o, 'Secret/yaook/root-ca', 'tls.crt');
        for (const h of lab.hosts) {
          const store = await sh(h, 'cat /etc/ssl/certs/ca-certificates.crt');
          const body = ca.replace(/-----[^-]+-----|\s/g, '');
          expect(store.replace(/\s/g, '').includes(body), h.name).toBe(h.role === 'controller');
        }
      },
    );

    it(
      'skips every uStack step on a second run: the checks see the work done',
      { timeout: 240_000 },
      async () => {
        const before = (await calls()).length;
        const result = await run('ustack');
        expect(result.state, lastFailures).toBe('succeeded');
        expect(result.counts.succeeded, ran).toBe(0);
        const hostSteps = toStepSpecs(renderer, ['ustack']).reduce(
          (n, s) => n + (s.targets as string[]).length,
          0,
        );
        expect(result.counts.skipped).toBe(hostSteps);
        const again = (await calls()).slice(before);
        const changing = again.filter(
          (c) =>
            (c.tool === 'kubectl' &&
              ['apply', 'create', 'delete', 'patch'].includes(
                c.argv.find((a) => !a.startsWith('-') && a !== 'yaook') ?? '',
              )) ||
            (c.tool === 'helm' && c.argv[0] !== 'status') ||
            // The checks may read (show, list); nothing may be made, changed or removed.
            (c.tool === 'openstack' && !['show', 'list'].includes(c.argv[1] ?? '')),
        );
        expect(changing.map((c) => `${c.tool} ${c.argv.join(' ')}`)).toEqual([]);
      },
    );

    it(
      'installs uGarden: CAPI core before CAPO, the cluster declared in the site git repo, its kubeconfig handed out',
      { timeout: 360_000 },
      async () => {
        const result = await run('ugarden');
        expect(result.state, lastFailures).toBe('succeeded');
        const all = (await calls()).filter((c) => c.host === first.name);
        const init = all.find((c) => c.tool === 'clusterctl' && c.argv[0] === 'init' && c.ok)!;
        expect(init.seen!.providers).toEqual([
          `CoreProvider/cluster-api@${CAPI_VERSION}`,
          `BootstrapProvider/kubeadm@${CAPI_VERSION}`,
          `ControlPlaneProvider/kubeadm@${CAPI_VERSION}`,
          `InfrastructureProvider/openstack@${CAPO_VERSION}`,
        ]);
        const name = `${plan.site.name}-garden-01`;
        // The cluster is in the site's git repository as rendered, with the floating IP Neutron
        // gave the API's port written in, and came from there.
        const repo = `${STATE}/volumes/ustart-git/repositories/ustart/garden.git`;
        const declared = await sh(first, `git --git-dir ${repo} show main:clusters/${name}.yaml`);
        const neutron = JSON.parse(await sh(first, `cat ${STATE}/openstack.json`)) as {
          port: Record<string, { id: string }>;
          floatingip: Record<string, { port_id: string; floating_ip_address: string }>;
        };
        const apiPort = neutron.port[GARDEN_NETWORK.apiPort]!.id;
        const fips = Object.values(neutron.floatingip).filter((f) => f.port_id === apiPort);
        expect(fips).toHaveLength(1);
        expect(declared).toBe(
          rendered(
            'ugarden.repository',
            '/etc/ustart/garden/clusters/workload-cluster.yaml',
          ).replaceAll(GARDEN_API_ADDRESS_PLACEHOLDER, fips[0]!.floating_ip_address),
        );
        const log = await sh(first, `git --git-dir ${repo} log --format=%an:%s main`);
        expect(log.split('\n')[0]).toBe(`uStart:uStart: workload cluster ${name}`);
        const o = await objects();
        const cluster = o[`Cluster/garden/${name}`]!;
        expect(cluster.metadata.labels['kustomize.toolkit.fluxcd.io/name']).toBe('clusters');
        expect(o[`KubeadmControlPlane/garden/${name}-control-plane`]!.spec.version).toBe(
          `v${plan.kubernetes.version}`,
        );
        // The machines' network is the one the step made, with the site's DNS servers; the
        // API's endpoint is its floating IP.
        const infra = o[`OpenStackCluster/garden/${name}`]!.spec;
        expect(infra.network).toEqual({ filter: { name: GARDEN_NETWORK.network } });
        expect(infra.controlPlaneEndpoint).toEqual({
          host: fips[0]!.floating_ip_address,
          port: 6443,
        });
        const subnets = (
          neutron as unknown as { subnet: Record<string, { dns_nameservers: string[] }> }
        ).subnet;
        expect(subnets[GARDEN_NETWORK.subnet]!.dns_nameservers).toEqual(plan.site.dns);
        const flux = o['GitRepository/flux-system/garden']!;
        expect(flux.spec.url).toBe(
          'http://gitea-http.ustart-git.svc.cluster.local:3000/ustart/garden.git',
        );
        // CAPO's credential is one uStack issued, not the admin password.
        const clouds = secret(o, `Secret/garden/${name}-cloud-config`, 'clouds.yaml');
        expect(clouds).toContain('auth_type: v3applicationcredential');
        expect(clouds).not.toContain(keystonePassword.slice(0, 16));
        // CAPO trusts only the Secret's cacert (docs/upstream-facts.md#capo.credentials-secret).
        expect(secret(o, `Secret/garden/${name}-cloud-config`, 'cacert')).toBe(
          secret(o, 'Secret/yaook/root-ca', 'tls.crt'),
        );
        // The kubeconfig is handed out privately.
        expect(
          (await sh(first, 'stat -c %a /var/lib/ustart/out/garden-kubeconfig.yaml')).trim(),
        ).toBe('600');
        expect(await sh(first, 'cat /var/lib/ustart/out/garden-kubeconfig.yaml')).toContain(
          `- name: ${name}\n`,
        );
        // The workload VMs' SSH key: in uStack as a keypair, its private half handed out
        // privately and never in a call, a log or the journal.
        const os = JSON.parse(await sh(first, `cat ${STATE}/openstack.json`));
        expect(Object.keys(os.keypair)).toEqual(['ustart-garden']);
        expect(Object.keys(os.image)).toContain(NODE_IMAGE.name);
        expect((await sh(first, 'stat -c %a /var/lib/ustart/out/garden-ssh-key')).trim()).toBe(
          '600',
        );
        const privateKey = (await sh(first, 'sed -n 2p /var/lib/ustart/out/garden-ssh-key')).trim();
        expect(privateKey.length).toBeGreaterThan(20);
        expect(JSON.stringify(await calls())).not.toContain(privateKey);
        for (const file of await walk(join(tmp, 'runs')))
          expect(await readFile(file, 'utf8'), file).not.toContain(privateKey);
        // The addons are in the repository next to the cluster, as ClusterResourceSets'
        // ConfigMaps with the images under their upstream names; the cloud provider's Secret is
        // not in git, and holds CAPO's application credential, never the admin password.
        const addons = await sh(
          first,
          `git --git-dir ${repo} show main:clusters/${name}-addons.yaml`,
        );
        for (const addon of WORKLOAD_ADDONS) {
          expect(o[`ConfigMap/garden/${addonConfigMap(name, addon.name)}`]).toBeDefined();
          expect(o[`ClusterResourceSet/garden/${name}-${addon.name}`]).toBeDefined();
          expect(cluster.metadata.labels[`addons.ustart.io/${addon.name}`]).toBe(name);
        }
        expect(addons).toContain('image: docker.io/calico/node:');
        expect(addons).not.toContain('ustart.invalid');
        const cloudConf = secret(o, `Secret/garden/${cloudConfSecret(name)}`, 'cloud-config.yaml');
        expect(cloudConf).toContain('name: cloud-config');
        expect(o[`Secret/garden/${cloudConfSecret(name)}`]!.type).toBe(
          'addons.cluster.x-k8s.io/resource-set',
        );
        const credential = /application_credential_secret: "?([^"\n]+)/.exec(clouds)![1]!;
        const conf = Buffer.from(/cloud\.conf: (\S+)/.exec(cloudConf)![1]!, 'base64').toString(
          'utf8',
        );
        expect(conf).toContain(`application-credential-secret=${credential}`);
        expect(conf).not.toContain(keystonePassword.slice(0, 16));
        expect(JSON.stringify(await calls())).not.toContain(credential);
        const gitea = secret(o, 'Secret/ustart-git/gitea-admin', 'password');
        expect(JSON.stringify(await calls())).not.toContain(gitea);
        for (const file of await walk(join(tmp, 'runs')))
          expect(await readFile(file, 'utf8'), file).not.toContain(gitea);
      },
    );

    it('skips every uGarden step on a second run', { timeout: 240_000 }, async () => {
      const result = await run('ugarden');
      expect(result.state, lastFailures).toBe('succeeded');
      expect(result.counts.succeeded, ran).toBe(0);
      expect(result.counts.skipped).toBe(toStepSpecs(renderer, ['ugarden']).length);
    });

    it('points at nothing on the internet: the site is air-gapped', async () => {
      expect(plan.site.airGapped).toBe(true);
      const text = [
        JSON.stringify(await objects()),
        JSON.stringify(await calls()),
        await sh(
          first,
          'cat /etc/ustart/ustack/*.yaml /etc/ustart/garden/*.yaml /etc/ustart/garden/clusters/*.yaml',
        ),
        await sh(first, `cat ${STATE}/clusterctl.json`),
      ].join('\n');
      const hosts = new Set([...text.matchAll(/[a-z]+:\/\/([^/:"'\s\\]+)/g)].map((m) => m[1]!));
      const local = (h: string) =>
        h.endsWith(`.${plan.site.domain}`) ||
        h.endsWith('.svc.cluster.local') ||
        h === '127.0.0.1' ||
        h === '' ||
        /^\d+\.\d+\.\d+\.\d+$/.test(h) ||
        h.endsWith('.garden');
      expect([...hosts].filter((h) => !local(h))).toEqual([]);
      // Images keep their upstream names, served by the site registry's mirrors
      // (docs/upstream-facts.md#clusterctl.image-overrides: no override).
      const init = (await calls()).find((c) => c.tool === 'clusterctl' && c.argv[0] === 'init')!;
      expect(init.seen!.images).toEqual(CAPI_PROVIDERS.map((p) => p.image));
      const gitea = (await calls()).find(
        (c) => c.tool === 'helm' && c.argv[2] === 'gitea' && c.ok,
      )!;
      expect(gitea.seen!.imageRegistry).toBeNull();
    });

    /** Objects of the doubles' cluster that match, as "Kind/namespace/name". */
    const keysOf = (o: Objects, match: (key: string, v: Objects[string]) => boolean) =>
      Object.entries(o)
        .filter(([k, v]) => match(k, v))
        .map(([k]) => k);
    const exists = async (h: LabHost, path: string) =>
      (await lab.exec(h, `test -e ${path}`)).code === 0;

    it(
      'resets uGarden: no cluster, Flux, Cluster API, git server or garden files are left',
      { timeout: 240_000 },
      async () => {
        const result = await run('reset-ugarden');
        expect(result.state, lastFailures).toBe('succeeded');
        const o = await objects();
        const gardenNamespaces = [
          'garden',
          'flux-system',
          'ustart-git',
          'capi-system',
          'capo-system',
          'capi-kubeadm-bootstrap-system',
          'capi-kubeadm-control-plane-system',
          'orc-system',
        ];
        expect(
          keysOf(
            o,
            (k, v) =>
              gardenNamespaces.includes(k.split('/')[1]!) ||
              gardenNamespaces.includes(v.metadata.name) ||
              gardenNamespaces.includes(
                v.metadata.annotations?.['meta.helm.sh/release-namespace'],
              ) ||
              /x-k8s\.io|fluxcd\.io|k-orc\.cloud/.test(`${v.apiVersion} ${v.metadata.name}`),
          ),
        ).toEqual([]);
        expect((await releases()).filter((r) => r.startsWith('ustart-git/'))).toEqual([]);
        expect(JSON.parse(await sh(first, `cat ${STATE}/clusterctl.json`))).toBeNull();
        expect(await exists(first, '/etc/ustart/garden')).toBe(false);
        expect(await exists(first, `${STATE}/volumes/ustart-git`)).toBe(false);
        // uStack is untouched by uGarden's reset.
        expect(o['KeystoneDeployment/yaook/keystone']).toBeDefined();
      },
    );

    it(
      'resets uStack: no service, operator, CRD, certificate or Ceph client is left, compute nodes are clean',
      { timeout: 240_000 },
      async () => {
        const result = await run('reset-ustack');
        expect(result.state, lastFailures).toBe('succeeded');
        const o = await objects();
        expect(
          keysOf(
            o,
            (k, v) =>
              ['yaook', 'ingress-nginx', 'cert-manager'].includes(k.split('/')[1]!) ||
              ['yaook', 'ingress-nginx', 'cert-manager'].includes(v.metadata.name) ||
              ['yaook', 'ingress-nginx', 'cert-manager'].includes(
                v.metadata.annotations?.['meta.helm.sh/release-namespace'],
              ) ||
              /yaook\.cloud|cert-manager\.io/.test(`${v.apiVersion} ${v.metadata.name}`) ||
              ['CephBlockPool', 'CephClient'].includes(v.kind) ||
              v.metadata.name.startsWith('rook-ceph-client-'),
          ),
        ).toEqual([]);
        expect(
          (await releases()).filter(
            (r) => !['kube-system/cilium', 'rook-ceph/rook-ceph'].includes(r),
          ),
        ).toEqual([]);
        // What uMetal made stays for uMetal's reset.
        expect(o['CephCluster/rook-ceph/ceph']).toBeDefined();
        expect(await exists(first, '/etc/ustart/ustack')).toBe(false);
        expect(await exists(first, '/var/lib/ustart/state/smoke-test.passed')).toBe(false);
        // No controller trusts the site's root CA any more.
        for (const h of lab.hosts.filter((x) => x.role === 'controller'))
          expect(
            (await sh(h, 'ls /usr/local/share/ca-certificates/ | grep -c ^ustart- || true')).trim(),
            h.name,
          ).toBe('0');
        const compute = lab.hosts.find((h) => h.role === 'compute')!;
        for (const dir of ['/var/lib/nova', '/var/lib/libvirt', '/var/lib/openvswitch'])
          expect(await exists(compute, dir), dir).toBe(false);
      },
    );

    it(
      'resets uMetal: no Kubernetes, tools or uStart files are left on any host but the bundle',
      { timeout: 360_000 },
      async () => {
        const result = await run('reset-umetal');
        expect(result.state, lastFailures).toBe('succeeded');
        for (const h of lab.hosts) {
          for (const path of [
            '/etc/kubernetes',
            '/var/lib/kubelet',
            '/var/lib/etcd',
            '/etc/cni/net.d',
            '/etc/ustart',
            '/usr/local/bin/kubectl',
            '/usr/local/bin/kubeadm',
            '/usr/local/bin/helm',
            '/usr/local/bin/clusterctl',
          ])
            expect(await exists(h, path), `${path} on ${h.name}`).toBe(false);
          expect((await sh(h, 'ls -A /var/lib/ustart')).trim(), h.name).toBe(
            h === first ? 'bundle' : '',
          );
        }
      },
    );

    it(
      'runs every reset again after the reset: each step succeeds or is skipped',
      { timeout: 360_000 },
      async () => {
        for (const phase of ['reset-ugarden', 'reset-ustack', 'reset-umetal'] as const) {
          const result = await run(phase);
          expect(result.state, `${phase}: ${lastFailures}`).toBe('succeeded');
        }
        expect((await sh(first, 'ls -A /var/lib/ustart')).trim()).toBe('bundle');
      },
    );
  },
);
