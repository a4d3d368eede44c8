import { describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../plan/load.js';
import type { Plan, Server } from '../../plan/schema.js';
import { assetPath } from '../../util/assets.js';
import { hostContext, siteContext } from '../context.js';
import {
  GARDEN_KEYPAIR,
  gardenFlavors,
  gardenObjectsConfig,
  NODE_IMAGE,
} from './garden-objects.js';
import { workloadCluster } from './ugarden.js';

const demo = async () => (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;

/** The demo plan with one compute server of the given threads and RAM, no others. */
async function withCompute(threads: number, memoryGiB: number, count = 1): Promise<Plan> {
  const plan = await demo();
  const compute = plan.servers.find((s) => s.roles.includes('compute') && s.roles.length === 1)!;
  const sized = (i: number): Server => ({
    ...structuredClone(compute),
    hostname: `cmp-x${i}`,
    cpu: { sockets: 1, cores: threads, threads: 1 },
    memoryGiB,
  });
  plan.servers = [
    ...plan.servers.filter((s) => !s.roles.includes('compute')),
    ...Array.from({ length: count }, (_, i) => sized(i)),
  ];
  return plan;
}

describe('gardenFlavors: the workload cluster sized from the compute servers', () => {
  it('takes the largest sizes when the compute servers hold them', async () => {
    // One server: (32 − 4 reserved) threads × 4 = 112 vCPUs, (256 − 16) GiB for instances.
    const f = gardenFlavors(await withCompute(32, 256));
    expect(f.problem).toBeUndefined();
    expect(f.controlPlane).toMatchObject({
      vcpus: 4,
      ramMiB: 8192,
      name: 'ustart.garden-control-plane.4c8g',
    });
    expect(f.worker).toMatchObject({ vcpus: 8, ramMiB: 16384, name: 'ustart.garden-worker.8c16g' });
  });

  it('steps the worker down when the whole cluster would not fit', async () => {
    // One server: (8 − 4) × 4 = 16 vCPUs and 48 GiB for instances; with a 4-vCPU control
    // plane only 2-vCPU workers fit (3 × 4 + 2 × 2 = 16).
    const f = gardenFlavors(await withCompute(8, 64));
    expect(f.problem).toBeUndefined();
    expect([f.controlPlane.vcpus, f.worker.vcpus]).toEqual([4, 2]);
  });

  it('names the smallest sizes and says why when nothing fits', async () => {
    const f = gardenFlavors(await withCompute(4, 8));
    expect(f.problem).toMatch(/need at least 10 vCPUs and 20 GiB/);
    expect(f.controlPlane.vcpus).toBe(2);
  });

  it('refuses a plan without compute servers', async () => {
    const plan = await demo();
    plan.servers = plan.servers.filter((s) => !s.roles.includes('compute'));
    expect(gardenFlavors(plan).problem).toContain('no compute server');
  });
});

describe('one set of names for the workload cluster and ugarden.openstack-objects', () => {
  it('the cluster references the flavors, image, keypair and external network the step creates', async () => {
    const plan = await demo();
    const ctx = hostContext(siteContext(plan), plan.servers[0]!);
    const rows = Object.fromEntries(
      gardenObjectsConfig(ctx)
        .trim()
        .split('\n')
        .map((l) => l.split('\t')),
    );
    expect(rows.problem).toBe('-');
    const cluster = workloadCluster(ctx);
    expect(cluster).toContain(`flavor: ${rows['cp-flavor']}\n`);
    expect(cluster).toContain(`flavor: ${rows['worker-flavor']}\n`);
    expect(cluster).toContain(`name: ${NODE_IMAGE.name}\n`);
    expect(cluster).toContain(`sshKeyName: ${GARDEN_KEYPAIR}\n`);
    const provider = plan.networks.find((n) => n.purpose === 'provider')!;
    expect(rows['external-network']).toBe(provider.name);
    expect(cluster).toMatch(new RegExp(`externalNetwork:\\s+filter:\\s+name: ${provider.name}\\n`));
    expect(rows['image-file']).toBe(NODE_IMAGE.file);
  });

  it('refuses, in the step, a plan without openstack.externalNetwork or with another Kubernetes', async () => {
    const plan = await demo();
    delete plan.openstack.externalNetwork;
    plan.kubernetes.version = '1.32.0';
    const ctx = hostContext(siteContext(plan), plan.servers[0]!);
    const config = gardenObjectsConfig(ctx);
    expect(config).toContain('the plan sets no openstack.externalNetwork');
    expect(config).toContain(`holds Kubernetes ${NODE_IMAGE.kubernetesVersion}`);
    expect(config).toMatch(/^external-network\t-$/m);
    expect(workloadCluster(ctx)).not.toContain('externalNetwork');
  });
});
