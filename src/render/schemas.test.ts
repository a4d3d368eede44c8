/**
 * Every object the uMetal runbook renders for an upstream tool meets the schema derived from
 * that tool's own types, CRD or chart (src/render/schemas/, docs/upstream-facts.md#schema.*),
 * for the demo plan, the demo plan air-gapped and the lab's plan. Then, per schema, that a
 * misspelt or wrong-typed field is refused, so a loosened schema fails here too.
 */
import { StorageClass as StorageClassModel } from 'kubernetes-models/storage.k8s.io/v1';
import { Pod as PodModel } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { labPlan, labRole } from '../../test/lab/plan.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { defaultRunbookDir, loadRunbook } from '../runbook/load.js';
import { assetPath } from '../util/assets.js';
import { GENERATOR_NAMES } from './generators/index.js';
import { bomRepository } from './bom.js';
import {
  ClusterConfiguration,
  InitConfiguration,
  JoinConfiguration,
  KubeadmDocument,
  KubeletConfiguration,
} from './kubeadm-schema.js';
import { Renderer } from './render.js';
import { AlloyValues } from './schemas/alloy-values.js';
import { CiliumValues } from './schemas/cilium-values.js';
import { ContainerdConfig, parseTomlSubset } from './schemas/containerd.js';
import { UNCHECKED, UPSTREAM_SCHEMAS, yamlDocuments } from './schemas/index.js';
import { Pod } from './schemas/k8s-api.js';
import { KubePrometheusStackValues } from './schemas/kube-prometheus-stack-values.js';
import { LokiValues } from './schemas/loki-values.js';
import { RookCephValues } from './schemas/rook-ceph-values.js';
import { CephBlockPool, CephCluster, RbdStorageClass } from './schemas/rook-ceph.js';
import {
  CinderDeployment,
  GlanceDeployment,
  KeystoneDeployment,
  NeutronDeployment,
  NovaDeployment,
  YaookResource,
} from './schemas/yaook.js';

const runbook = await loadRunbook([defaultRunbookDir()], { generators: GENERATOR_NAMES });
const demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
const lab = labPlan({
  id: 'schemas',
  subnet: '10.77.0.0/24',
  hosts: Array.from({ length: 6 }, (_, i) => ({
    hostname: `lab-${i + 1}`,
    address: `10.77.0.${11 + i}`,
    port: 22,
    role: labRole(i, 6),
  })),
  user: 'root',
});

const PLANS: Array<[string, Plan]> = [
  ['the demo plan', demo],
  [
    'the demo plan air-gapped',
    { ...structuredClone(demo), site: { ...demo.site, airGapped: true } },
  ],
  ["the lab's plan", lab],
];

/** The uMetal and uStack steps' generated files, as the engine would upload them. */
const UMETAL = runbook.steps.filter((s) => s.phase === 'umetal' || s.phase === 'ustack');
const GENERATED = [...new Set(UMETAL.flatMap((s) => s.files.flatMap((f) => f.generate ?? [])))];

interface Rendered {
  where: string;
  generator: string;
  text: string;
}

async function renderGenerated(plan: Plan): Promise<Rendered[]> {
  const renderer = await Renderer.create(plan, runbook);
  const out: Rendered[] = [];
  for (const step of UMETAL) {
    for (const server of renderer.hostsOf(step)) {
      const uploads = renderer.hostUploads(step, server);
      for (const file of step.files) {
        if (!file.generate) continue;
        const upload = uploads.find((u) => u.path.endsWith(`/files${file.path}`));
        if (!upload) throw new Error(`${step.id} on ${server.hostname}: ${file.path} not uploaded`);
        out.push({
          where: `${server.hostname} ${step.id} ${file.path}`,
          generator: file.generate,
          text: upload.content,
        });
      }
    }
  }
  return out;
}

/** Every place a file breaks its schema, as "host step path [doc n]: issue" lines. */
function problems(files: Rendered[]): string[] {
  const found: string[] = [];
  for (const f of files) {
    const check = UPSTREAM_SCHEMAS[f.generator];
    if (!check) continue;
    let docs: unknown[];
    try {
      docs = check.read(f.text);
    } catch (e) {
      found.push(`${f.where}: cannot be read: ${(e as Error).message}`);
      continue;
    }
    docs.forEach((doc, i) => {
      const result = check.schema.safeParse(doc);
      if (!result.success) {
        found.push(`${f.where} [doc ${i + 1}]:\n${z.prettifyError(result.error)}`);
      }
    });
  }
  return found;
}

describe('rendered uMetal and uStack objects against the upstream schemas', () => {
  it('has a schema, or a reason for none, for every generator the uMetal steps use', () => {
    const unclassified = GENERATED.filter((g) => !UPSTREAM_SCHEMAS[g] && !UNCHECKED[g]);
    expect(unclassified).toEqual([]);
    // The list is not vacuous: the objects this test exists for are among them.
    expect(GENERATED).toEqual(
      expect.arrayContaining([
        'kubeadm-init',
        'rook-ceph-cluster',
        'containerd-config',
        'yaook-nova',
        'ingress-nginx-values',
      ]),
    );
  });

  describe.each(PLANS)('%s', (_name, plan) => {
    it('renders every object so that it meets its schema', async () => {
      const files = await renderGenerated(plan);
      const checked = files.filter((f) => UPSTREAM_SCHEMAS[f.generator]);
      expect(new Set(checked.map((f) => f.generator)).size).toBeGreaterThanOrEqual(9);
      expect(problems(files)).toEqual([]);
    });

    it('renders the kube-vip Pod and the StorageClass valid for kubernetes-models too', async () => {
      const files = await renderGenerated(plan);
      const pods = files.filter((f) => f.generator === 'kube-vip-manifest');
      expect(pods.length).toBeGreaterThan(0);
      for (const f of pods) new PodModel(yamlDocuments(f.text)[0] as never).validate();
      const ceph = files.find((f) => f.generator === 'rook-ceph-cluster')!;
      const sc = yamlDocuments(ceph.text).find(
        (d) => (d as { kind: string }).kind === 'StorageClass',
      );
      new StorageClassModel(sc as never).validate();
    });

    // Air-gapped or not: the site registry's mirrors serve upstream names
    // (docs/bundle-format.md "The site registry").
    it("keeps every chart's images under their upstream names", async () => {
      const files = await renderGenerated(plan);
      const values = (generator: string) =>
        yamlDocuments(files.find((f) => f.generator === generator)!.text)[0];
      expect({
        cilium: at(values('cilium-values'), 'image.repository'),
        ciliumOperator: at(values('cilium-values'), 'operator.image.repository'),
        rookOperator: at(values('rook-operator-values'), 'image.repository'),
        kubePrometheusStack: at(values('prometheus-stack-values'), 'global'),
        loki: at(values('loki-values'), 'global'),
        alloy: at(values('alloy-values'), 'global'),
      }).toEqual({
        cilium: bomRepository('cilium'),
        ciliumOperator: 'quay.io/cilium/operator',
        rookOperator: bomRepository('rook-ceph'),
        kubePrometheusStack: undefined,
        loki: undefined,
        alloy: undefined,
      });
    });
  });
});

/** The demo plan's rendered object of a generator (first host), one document by kind. */
async function sample(generator: string, kind?: string): Promise<unknown> {
  const file = (await renderGenerated(demo)).find((f) => f.generator === generator)!;
  const docs = UPSTREAM_SCHEMAS[generator]!.read(file.text);
  const doc = kind ? docs.find((d) => at(d, 'kind') === kind) : docs[0];
  if (!doc) throw new Error(`${generator} rendered no ${kind ?? 'document'}`);
  return doc;
}

type Node = Record<string, unknown>;

/** The value at a dotted path (`spec.storage.nodes.0.name`), or undefined. */
function at(value: unknown, path: string): unknown {
  let node = value;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Node)[key];
  }
  return node;
}

/**
 * A deep copy with the value at each dotted path replaced (undefined: the key removed).
 * Missing objects on the way are made, so a misspelt key can be added anywhere.
 */
function edited(value: unknown, changes: Record<string, unknown>): unknown {
  const copy = structuredClone(value);
  for (const [path, next] of Object.entries(changes)) {
    const keys = path.split('.');
    const last = keys.pop()!;
    let node = copy as Node;
    for (const key of keys) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Node;
    }
    if (next === undefined) delete node[last];
    else node[last] = next;
  }
  return copy;
}

function accepts(schema: z.ZodType, value: unknown): void {
  const result = schema.safeParse(value);
  expect(result.success ? [] : result.error.issues).toEqual([]);
}

function refuses(schema: z.ZodType, value: unknown): void {
  expect(schema.safeParse(value).success).toBe(false);
}

describe('each schema refuses what its upstream would not take', () => {
  it('containerd config: a misspelt or wrong-typed key, and TOML it cannot read', async () => {
    const config = await sample('containerd-config');
    accepts(ContainerdConfig, config);
    // The plugin's name has dots, so paths start inside the plugin's table.
    const plugins = at(config, 'plugins') as Node;
    const plugin = (changes: Record<string, unknown>) => ({
      ...(config as Node),
      plugins: {
        'io.containerd.grpc.v1.cri': edited(plugins['io.containerd.grpc.v1.cri'], changes),
      },
    });
    const runc = 'containerd.runtimes.runc';
    accepts(ContainerdConfig, plugin({}));
    refuses(ContainerdConfig, plugin({ [`${runc}.options.SystemdCgroups`]: true }));
    refuses(ContainerdConfig, plugin({ [`${runc}.options.SystemdCgroup`]: 'true' }));
    refuses(ContainerdConfig, plugin({ [`${runc}.runtime_type`]: 'io.containerd.runc.v1' }));
    refuses(ContainerdConfig, plugin({ sandbox_img: 'registry.k8s.io/pause:3.10' }));
    refuses(ContainerdConfig, edited(config, { version: 3 }));
    expect(() => parseTomlSubset('a = 1\na = 2\n')).toThrow(/set twice/);
    expect(() => parseTomlSubset('[t]\n[t]\n')).toThrow(/defined twice/);
    expect(() => parseTomlSubset('a = [1, 2]\n')).toThrow(/does not take/);
    expect(parseTomlSubset('[p."x.y".z]\n  k = "v"\n')).toEqual({
      p: { 'x.y': { z: { k: 'v' } } },
    });
  });

  it('kubeadm v1beta4: extraArgs are lists of {name, value}; taints may be empty', async () => {
    const cluster = await sample('kubeadm-init', 'ClusterConfiguration');
    const args = [{ name: 'bind-address', value: '0.0.0.0' }];
    const withArgs = edited(cluster, {
      'controllerManager.extraArgs': args,
      'scheduler.extraArgs': args,
      'etcd.local.extraArgs': [{ name: 'listen-metrics-urls', value: 'http://0.0.0.0:2381' }],
    });
    accepts(ClusterConfiguration, withArgs);
    // The v1beta3 map form is what v1beta4 no longer takes.
    refuses(ClusterConfiguration, edited(cluster, { 'controllerManager.extraArgs': { a: 'b' } }));
    refuses(ClusterConfiguration, edited(cluster, { 'schedular.extraArgs': args }));
    refuses(ClusterConfiguration, edited(withArgs, { 'etcd.local.extraArg': args }));
    refuses(ClusterConfiguration, edited(cluster, { 'scheduler.extraArgs': [{ name: 'v' }] }));
    const init = await sample('kubeadm-init', 'InitConfiguration');
    accepts(InitConfiguration, edited(init, { 'nodeRegistration.taints': [] }));
    refuses(InitConfiguration, edited(init, { 'nodeRegistration.taints': undefined }));
    refuses(
      InitConfiguration,
      edited(init, { 'nodeRegistration.taints': [{ key: 'a', effect: 'NoScheduling' }] }),
    );
    const join = await sample('kubeadm-join', 'JoinConfiguration');
    refuses(JoinConfiguration, edited(join, { 'nodeRegistration.imagePullPolicy': 'Sometimes' }));
    refuses(KubeadmDocument, edited(cluster, { kind: 'ClusterConfig' }));
  });

  it('KubeletConfiguration: a misspelt field or an unknown cgroup driver', async () => {
    const kubelet = await sample('kubeadm-init', 'KubeletConfiguration');
    accepts(KubeletConfiguration, kubelet);
    refuses(KubeletConfiguration, edited(kubelet, { cgroupDrvier: 'systemd' }));
    refuses(KubeletConfiguration, edited(kubelet, { cgroupDriver: 'system' }));
  });

  it('Pod (kube-vip): a misspelt field, an unknown enum value, a missing required field', async () => {
    const pod = await sample('kube-vip-manifest');
    accepts(Pod, pod);
    refuses(Pod, edited(pod, { 'spec.hostNetwrk': true }));
    refuses(Pod, edited(pod, { 'spec.containers.0.imagePullPolicy': 'Nevr' }));
    refuses(Pod, edited(pod, { 'spec.volumes.0.hostPath.type': 'file' }));
    refuses(Pod, edited(pod, { 'spec.containers.0.volumeMounts.0.mountPath': undefined }));
    refuses(Pod, edited(pod, { 'spec.hostAliases.0.ip': undefined }));
  });

  it('CephCluster: placement keys, mon/mgr counts, network provider, CIDRs, Ceph release', async () => {
    const cluster = await sample('rook-ceph-cluster', 'CephCluster');
    accepts(CephCluster, cluster);
    const cases: Array<Record<string, unknown>> = [
      { 'spec.placement.prepareOsd': at(cluster, 'spec.placement.prepareosd') },
      { 'spec.placement.mon.toleration': [] },
      { 'spec.placement.mon.tolerations': [{ key: 'x', operator: 'Equals' }] },
      { 'spec.mon.count': 10 },
      { 'spec.mgr.count': 6 },
      { 'spec.network.provider': 'hostNetwork' },
      { 'spec.network.addressRanges': { public: ['10.20.0.0'] } },
      { 'spec.storage.nodes.0.devices.0': { nam: 'sdb' } },
      { 'spec.storage.useAllDevice': false },
      { 'spec.dataDirHostPath': 'var/lib/rook' },
      { 'spec.cephVersion.image': 'quay.io/ceph/ceph:v20.1.0' },
      { 'spec.dashboard.port': 70000 },
    ];
    for (const change of cases) refuses(CephCluster, edited(cluster, change));
    // What the lead may add for the taint decision is accepted.
    const controlPlane = { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' };
    accepts(
      CephCluster,
      edited(cluster, {
        'spec.placement.all.tolerations': [{ ...controlPlane, effect: 'NoSchedule' }],
        'spec.placement.mon.tolerations': [controlPlane],
      }),
    );
  });

  it('CephBlockPool and the RBD StorageClass', async () => {
    const pool = await sample('rook-ceph-cluster', 'CephBlockPool');
    accepts(CephBlockPool, pool);
    refuses(CephBlockPool, edited(pool, { 'spec.failureDomain': 'hosts' }));
    refuses(
      CephBlockPool,
      edited(pool, { 'spec.replicated': { size: 1, requireSafeReplicaSize: true } }),
    );
    refuses(CephBlockPool, edited(pool, { 'spec.replicated.size': undefined }));
    const sc = await sample('rook-ceph-cluster', 'StorageClass');
    accepts(RbdStorageClass, sc);
    refuses(RbdStorageClass, edited(sc, { reclaimPolicy: 'Gone' }));
    refuses(
      RbdStorageClass,
      edited(sc, { 'parameters.imageFeatures': undefined, 'parameters.imageFeature': 'layering' }),
    );
    refuses(RbdStorageClass, edited(sc, { 'parameters.imageFeatures': 'layering,fastdiff' }));
    refuses(RbdStorageClass, edited(sc, { provisioner: 'rook-ceph.cephfs.csi.ceph.com' }));
  });

  it('Cilium values: kubeProxyReplacement, ipam.mode, misspelt keys', async () => {
    const values = await sample('cilium-values');
    accepts(CiliumValues, values);
    accepts(CiliumValues, edited(values, { kubeProxyReplacement: 'true' }));
    refuses(CiliumValues, edited(values, { kubeProxyReplacement: 'partial' }));
    refuses(CiliumValues, edited(values, { 'ipam.mode': 'cluster_pool' }));
    refuses(CiliumValues, edited(values, { envoy: { enable: false } }));
    refuses(
      CiliumValues,
      edited(values, { 'ipam.operator.clusterPoolIPv4PodCIDRList': ['10.244.0.0'] }),
    );
    refuses(CiliumValues, edited(values, { 'operator.image.useDigests': false }));
  });

  it('rook-ceph values: csi.pluginTolerations is a list of tolerations', async () => {
    const values = await sample('rook-operator-values');
    accepts(RookCephValues, values);
    const storage = { key: 'node-role.uhurutec.com/storage', operator: 'Exists' };
    accepts(RookCephValues, edited(values, { 'csi.pluginTolerations': [storage] }));
    refuses(RookCephValues, edited(values, { 'csi.pluginToleration': [storage] }));
    refuses(RookCephValues, edited(values, { 'csi.pluginTolerations': storage }));
    refuses(RookCephValues, edited(values, { 'csi.enableRbdDriver': 'true' }));
  });

  it('kube-prometheus-stack values: the control-plane scrape switches and NodePorts', async () => {
    const values = await sample('prometheus-stack-values');
    accepts(KubePrometheusStackValues, values);
    const switched = edited(values, {
      'kubeEtcd.enabled': false,
      'kubeProxy.enabled': false,
      'kubeControllerManager.enabled': true,
      'kubeControllerManager.service': { port: 10257, targetPort: 10257 },
      'kubeScheduler.enabled': true,
      'kubeScheduler.serviceMonitor': { https: true, insecureSkipVerify: true },
    });
    accepts(KubePrometheusStackValues, switched);
    refuses(KubePrometheusStackValues, edited(values, { 'kubeEtc.enabled': false }));
    refuses(
      KubePrometheusStackValues,
      edited(switched, { 'kubeProxy.serviceMonitor.insecureSkipVerify': true }),
    );
    refuses(KubePrometheusStackValues, edited(switched, { 'kubeScheduler.service.port': '10259' }));
    refuses(KubePrometheusStackValues, edited(values, { 'grafana.service.nodePort': 80 }));
    refuses(KubePrometheusStackValues, edited(values, { 'grafana.admin.existingSecrets': 'x' }));
  });

  it('Loki values: the global registry is global.image.registry', () => {
    const valid = {
      global: { image: { registry: 'registry.example' } },
      deploymentMode: 'SingleBinary',
      loki: {
        auth_enabled: false,
        commonConfig: { replication_factor: 1 },
        storage: { type: 'filesystem' },
        schemaConfig: {
          configs: [
            {
              from: '2024-01-01',
              store: 'tsdb',
              object_store: 'filesystem',
              schema: 'v13',
              index: { prefix: 'index_', period: '24h' },
            },
          ],
        },
      },
      singleBinary: { replicas: 1, persistence: { storageClass: 'ceph-block', size: '50Gi' } },
      read: { replicas: 0 },
      write: { replicas: 0 },
      backend: { replicas: 0 },
    };
    accepts(LokiValues, valid);
    refuses(LokiValues, edited(valid, { global: { imageRegistry: 'registry.example' } }));
    refuses(LokiValues, edited(valid, { deploymentMode: 'Monolithic' }));
    refuses(LokiValues, edited(valid, { 'loki.schemaConfig.configs.0.objectStore': 'filesystem' }));
    refuses(LokiValues, edited(valid, { 'singleBinary.replica': 1 }));
  });

  it('Alloy values: controller.type, tolerations, mounts', () => {
    const valid = {
      global: { image: { registry: 'registry.example' } },
      controller: { type: 'daemonset', tolerations: [{ operator: 'Exists' }] },
      alloy: {
        configMap: { content: 'logging { level = "info" }\n' },
        mounts: { varlog: true },
      },
    };
    accepts(AlloyValues, valid);
    refuses(AlloyValues, edited(valid, { 'controller.type': 'DaemonSet' }));
    refuses(AlloyValues, edited(valid, { 'alloy.mounts.varLog': true }));
    refuses(AlloyValues, edited(valid, { global: { imageRegistry: 'registry.example' } }));
  });

  it("Yaook resources: refuses the shapes uStart rendered before it followed Yaook's", async () => {
    const renderer = await Renderer.create(demo, runbook);
    const resource = (service: string) => {
      const step = runbook.steps.find((s) => s.id === `ustack.${service}`)!;
      const [server] = renderer.hostsOf(step);
      const upload = renderer
        .hostUploads(step, server!)
        .find((u) => u.path.endsWith(`/files/etc/ustart/ustack/${service}.yaml`))!;
      return yamlDocuments(upload.content.toString())[0];
    };
    const nova = resource('nova');
    accepts(NovaDeployment, nova);
    // One flat database and message queue, and a Placement of its own (docs/upstream-facts.md#yaook.crd-nova).
    refuses(NovaDeployment, edited(nova, { 'spec.database': (nova as Node).spec }));
    refuses(NovaDeployment, edited(nova, { 'spec.messageQueue': { replicas: 3 } }));
    refuses(NovaDeployment, edited(nova, { 'spec.placementRef': { name: 'placement' } }));
    refuses(
      NovaDeployment,
      edited(nova, { 'spec.compute.configTemplates.0.volumeBackends.ceph.cephConfig': undefined }),
    );
    const glance = resource('glance');
    accepts(GlanceDeployment, glance);
    refuses(GlanceDeployment, edited(glance, { 'spec.backends.ceph.keyringPoolname': undefined }));
    refuses(GlanceDeployment, edited(glance, { 'spec.backends.ceph.cephConfig': undefined }));
    const cinder = resource('cinder');
    accepts(CinderDeployment, cinder);
    refuses(CinderDeployment, edited(cinder, { 'spec.backends.ceph.rbd.cephConfig': undefined }));
    const neutron = resource('neutron');
    refuses(NeutronDeployment, edited(neutron, { 'spec.novaRef': undefined }));
    refuses(NeutronDeployment, edited(neutron, { 'spec.setup.ovn.northboundOVSDB': undefined }));
    // An ingress without a class is ignored by ingress-nginx (docs/upstream-facts.md#ingress-nginx.ingress-class).
    refuses(
      KeystoneDeployment,
      edited(resource('keystone'), { 'spec.api.ingress.ingressClassName': undefined }),
    );
    expect(
      YaookResource.safeParse({ ...(nova as Node), kind: 'PlacementDeployment' }).success,
    ).toBe(false);
  });
});
