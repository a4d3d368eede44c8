/**
 * The cluster model the uStack and uGarden doubles share (cluster.mjs), run as the scripts
 * run the tools: what it refuses, so that a wrong script fails in the lab as it would on a
 * site. The whole phases run in test/integration/runbook-ustack-ugarden.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../src/plan/load.js';
import { Renderer } from '../../src/render/render.js';
import { loadSiteRunbook } from '../../src/render/step-specs.js';
import { renderFiles } from '../../src/render/write.js';
import { assetPath } from '../../src/util/assets.js';
import { adminClouds, doublesFolder, keystoneSecrets, makeCaCertificate } from './harness.js';

let dir: string;
const { put, sh } = doublesFolder(() => dir);
/** A CA certificate made with openssl, as infra.sh makes the site's root CA. */
let CA: string;

beforeAll(async () => {
  CA = await makeCaCertificate();
});

/** GlanceDeployment as uStart renders it for the demo plan. */
async function renderedGlance(): Promise<string> {
  const plan = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  const files = renderFiles(await Renderer.create(plan, await loadSiteRunbook()));
  const file = files.find((f) =>
    f.path.endsWith('/ustack.glance/files/etc/ustart/ustack/glance.yaml'),
  );
  if (!file) throw new Error('glance.yaml was not rendered');
  return file.content.toString();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-cluster-doubles-'));
  await put('/etc/kubernetes/admin.conf', 'apiVersion: v1\nkind: Config\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ROOK = `
apiVersion: v1
kind: Namespace
metadata: { name: rook-ceph }
---
apiVersion: v1
kind: Namespace
metadata: { name: yaook }
---
apiVersion: ceph.rook.io/v1
kind: CephCluster
metadata: { name: ceph, namespace: rook-ceph }
spec: { storage: { nodes: [] } }
---
apiVersion: ceph.rook.io/v1
kind: CephBlockPool
metadata: { name: glance-images, namespace: rook-ceph }
spec: { replicated: { size: 3 } }
---
apiVersion: ceph.rook.io/v1
kind: CephClient
metadata: { name: glance, namespace: rook-ceph }
spec: { caps: { osd: profile rbd pool=glance-images } }
`;

describe('the cluster model of the uStack and uGarden doubles', { timeout: 120_000 }, () => {
  it('reads JSON as strictly as kubectl: a Secret copied by deleting lines is refused', async () => {
    const rook = await put('/rook.yaml', ROOK);
    expect(sh(`kubectl apply -f ${rook}`).status).toBe(0);
    // What infra.sh did before: delete metadata lines from the JSON, leaving a trailing comma.
    const sed = sh(
      `kubectl -n rook-ceph get secret rook-ceph-client-glance -o json | sed -e 's/"namespace": "rook-ceph"/"namespace": "yaook"/' -e '/"resourceVersion"/d' -e '/"uid"/d' -e '/"ownerReferences"/,/]/d' | kubectl apply -f -`,
    );
    expect(sed.status).toBe(1);
    expect(sed.stderr).toContain('invalid JSON');
    // lib.sh's copy_secret: type and data only, as one JSON object.
    const copy = sh(
      `{ printf '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"k","namespace":"yaook"},"type":"%s","data":' "$(kubectl -n rook-ceph get secret rook-ceph-client-glance -o 'jsonpath={.type}')"; kubectl -n rook-ceph get secret rook-ceph-client-glance -o 'jsonpath={.data}'; printf '}'; } | kubectl apply -f - && kubectl -n yaook get secret k -o 'jsonpath={.data.glance}'`,
    );
    expect(copy.stderr).toBe('');
    expect(copy.stdout).toMatch(/configured\n[A-Za-z0-9+/=]{24}$/);
  });

  it('refuses a Yaook resource before its CRDs, before its operator, and before Keystone', async () => {
    await put('/bundle/charts/crds-0.20.0.tgz', 'archive');
    await put('/bundle/charts/glance-operator-0.20.0.tgz', 'archive');
    const values = await put('/values.yaml', '{}\n');
    // The resource as uStart renders it for the demo plan (src/render/generators/ustack.ts).
    const glance = await put('/glance.yaml', await renderedGlance());
    expect(sh(`kubectl apply -f ${await put('/rook.yaml', ROOK)}`).status).toBe(0);
    const helm = (release: string, chart: string) =>
      sh(`helm upgrade --install ${release} ${join(dir, 'root', chart)} -n yaook -f ${values}`);
    expect(sh(`kubectl apply -f ${glance}`).stderr).toContain('ensure CRDs are installed first');
    expect(helm('yaook-glance', '/bundle/charts/glance-operator-0.20.0.tgz').stderr).toContain(
      'Yaook CRDs (release yaook-crds) are not installed',
    );
    expect(helm('yaook-crds', '/bundle/charts/crds-0.20.0.tgz').status).toBe(0);
    expect(sh(`kubectl apply -f ${glance}`).stderr).toContain('no yaook-glance operator runs');
    expect(helm('yaook-glance', '/bundle/charts/glance-operator-0.20.0.tgz').status).toBe(0);
    expect(sh(`kubectl apply -f ${glance}`).stderr).toContain(
      'keystoneRef keystone does not exist',
    );
  });

  it('lets the openstack client in with the admin password from a private file only', async () => {
    const rook = await put('/rook.yaml', ROOK);
    expect(sh(`kubectl apply -f ${rook}`).status).toBe(0);
    const state = join(dir, 'state', 'objects.json');
    // A Keystone as the operators leave it: the resource and its admin Secret.
    const objects = JSON.parse(sh(`cat ${state}`).stdout);
    objects['KeystoneDeployment/yaook/keystone'] = {
      apiVersion: 'yaook.cloud/v1',
      kind: 'KeystoneDeployment',
      metadata: { name: 'keystone', namespace: 'yaook' },
      spec: { api: { ingress: { fqdn: 'keystone.lab.example' } }, region: { name: 'RegionOne' } },
    };
    Object.assign(objects, keystoneSecrets('s3cret', CA));
    const cacert = await put('/ca.crt', CA);
    await writeFile(state, JSON.stringify(objects));
    await writeFile(
      join(dir, 'state', 'helm.json'),
      JSON.stringify({
        'yaook/yaook-crds': { chart: 'crds-0.20.0.tgz' },
        'yaook/yaook-keystone': { chart: 'keystone-operator-0.20.0.tgz' },
      }),
    );
    const clouds = (password: string, user?: string) =>
      put('/clouds.yaml', adminClouds(password, cacert, user));
    const env = { OS_CLIENT_CONFIG_FILE: await clouds('wrong'), OS_CLOUD: 'ustack' };
    const create = 'openstack application credential create capi -f value -c id -c secret';
    expect(sh(create, env).stderr).toContain('requires authentication');
    // Yaook's admin is not called admin (docs/upstream-facts.md#yaook.admin-credentials).
    await clouds('s3cret', 'admin');
    expect(sh(create, env).stderr).toContain('username does not match');
    await clouds('s3cret');
    const made = sh(create, env);
    expect(made.stderr).toBe('');
    expect(made.stdout.trim().split('\n')).toHaveLength(2);
    expect(sh(`${create} --network s3cret`, env).stderr).toContain(
      'password is on the command line',
    );
    expect(sh(`chmod 644 ${env.OS_CLIENT_CONFIG_FILE} && ${create}`, env).stderr).toContain(
      'readable by others',
    );
  });
});
