/**
 * uGarden's workload cluster against the Cluster API and CAPO schemas (src/render/schemas/capi.ts,
 * docs/upstream-facts.md#schema.capi), for the demo plan online and air-gapped; then, per kind,
 * that a misspelt field, a wrong enum value or a missing required field is refused, so a
 * loosened schema fails here too.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { loadPlanFile } from '../../plan/load.js';
import type { Plan } from '../../plan/schema.js';
import { assetPath } from '../../util/assets.js';
import { Renderer } from '../render.js';
import { loadSiteRunbook } from '../step-specs.js';
import { renderFiles } from '../write.js';
import {
  ClusterResourceSet,
  KubeadmConfigTemplate,
  KubeadmControlPlane,
  OpenStackCluster,
  OpenStackMachineTemplate,
} from './capi.js';
import { UPSTREAM_SCHEMAS } from './index.js';

type Doc = Record<string, unknown>;

const demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
const runbook = await loadSiteRunbook();

async function rendered(plan: Plan): Promise<Doc[]> {
  const files = renderFiles(await Renderer.create(plan, runbook));
  const file = files.find((f) =>
    f.path.endsWith('/ugarden.repository/files/etc/ustart/garden/clusters/workload-cluster.yaml'),
  )!;
  return UPSTREAM_SCHEMAS['workload-cluster']!.read(file.content.toString()) as Doc[];
}

function issues(schema: z.ZodType, value: unknown) {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error.issues;
}

/** A deep copy with the value at a dotted path replaced (undefined: removed). */
function edited(value: unknown, path: string, next: unknown): unknown {
  const copy = structuredClone(value) as Doc;
  const keys = path.split('.');
  const last = keys.pop()!;
  let node = copy;
  for (const k of keys) node = node[k] as Doc;
  if (next === undefined) delete node[last];
  else node[last] = next;
  return copy;
}

describe.each([
  ['the demo plan', demo],
  [
    'the demo plan air-gapped',
    { ...structuredClone(demo), site: { ...demo.site, airGapped: true } },
  ],
])('%s', (_name, plan) => {
  it('renders every workload-cluster object so that it meets its schema', async () => {
    const docs = await rendered(plan);
    expect(docs.map((d) => d.kind)).toEqual(
      expect.arrayContaining([
        'Cluster',
        'OpenStackCluster',
        'KubeadmControlPlane',
        'ClusterResourceSet',
      ]),
    );
    for (const d of docs)
      expect(issues(UPSTREAM_SCHEMAS['workload-cluster']!.schema, d), String(d.kind)).toEqual([]);
  });
});

describe('the CAPI and CAPO schemas refuse what the CRDs would drop or reject', () => {
  const kind = async (k: string) => (await rendered(demo)).find((d) => d.kind === k)!;

  it('KubeadmControlPlane: a misspelt kubeletExtraArgs, the v1beta4 list form of extraArgs, no version', async () => {
    const kcp = await kind('KubeadmControlPlane');
    expect(issues(KubeadmControlPlane, kcp)).toEqual([]);
    const reg = 'spec.kubeadmConfigSpec.initConfiguration.nodeRegistration';
    expect(issues(KubeadmControlPlane, edited(kcp, `${reg}.kubeletExtraArg`, {}))).not.toEqual([]);
    const api = 'spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs';
    expect(
      issues(
        KubeadmControlPlane,
        edited(kcp, api, [{ name: 'cloud-provider', value: 'external' }]),
      ),
    ).not.toEqual([]);
    expect(issues(KubeadmControlPlane, edited(kcp, 'spec.version', undefined))).not.toEqual([]);
    const t = await kind('KubeadmConfigTemplate');
    expect(issues(KubeadmConfigTemplate, t)).toEqual([]);
    expect(issues(KubeadmConfigTemplate, edited(t, 'spec.template', undefined))).not.toEqual([]);
  });

  it('OpenStackCluster: security group rules need allowAllInClusterTraffic, a direction and one remote', async () => {
    const c = await kind('OpenStackCluster');
    expect(issues(OpenStackCluster, c)).toEqual([]);
    const sg = 'spec.managedSecurityGroups';
    expect(
      issues(OpenStackCluster, edited(c, `${sg}.allowAllInClusterTraffic`, undefined)),
    ).not.toEqual([]);
    const rule = `${sg}.allNodesSecurityGroupRules.0`;
    expect(issues(OpenStackCluster, edited(c, `${rule}.direction`, 'inbound'))).not.toEqual([]);
    expect(issues(OpenStackCluster, edited(c, `${rule}.remoteIPPrefix`, '0.0.0.0/0'))).not.toEqual(
      [],
    );
    expect(
      issues(OpenStackCluster, edited(c, 'spec.identityRef.cloudName', undefined)),
    ).not.toEqual([]);
    expect(
      issues(OpenStackCluster, edited(c, 'spec.apiServerLoadBalancer.provder', 'ovn')),
    ).not.toEqual([]);
    expect(issues(OpenStackCluster, edited(c, 'spec.externalNetwork', { filter: {} }))).not.toEqual(
      [],
    );
  });

  it('OpenStackMachineTemplate: a flavor or flavorID, exactly one image reference', async () => {
    const m = await kind('OpenStackMachineTemplate');
    expect(issues(OpenStackMachineTemplate, m)).toEqual([]);
    const spec = 'spec.template.spec';
    expect(issues(OpenStackMachineTemplate, edited(m, `${spec}.flavor`, undefined))).not.toEqual(
      [],
    );
    expect(
      issues(
        OpenStackMachineTemplate,
        edited(m, `${spec}.image`, { filter: { name: 'x' }, id: 'y' }),
      ),
    ).not.toEqual([]);
  });

  it('ClusterResourceSet: resources are Secrets or ConfigMaps, the strategy an enum', async () => {
    const crs = await kind('ClusterResourceSet');
    expect(issues(ClusterResourceSet, crs)).toEqual([]);
    expect(
      issues(
        ClusterResourceSet,
        edited(crs, 'spec.resources', [{ kind: 'Deployment', name: 'x' }]),
      ),
    ).not.toEqual([]);
    expect(issues(ClusterResourceSet, edited(crs, 'spec.strategy', 'Once'))).not.toEqual([]);
    expect(issues(ClusterResourceSet, edited(crs, 'spec.clusterSelector', undefined))).not.toEqual(
      [],
    );
  });
});
