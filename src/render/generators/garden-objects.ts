/**
 * The OpenStack objects uGarden's first workload cluster references, named and sized in one
 * place so that the Cluster API objects (ugarden.ts `workloadCluster`) and the step that
 * creates them (ugarden.openstack-objects) agree: the flavors, sized from the plan's compute
 * servers; the Kubernetes node image from the bundle; the keypair; the external network that
 * ustack.provider-network creates. CAPO looks each of them up by name and fails the machine
 * or the cluster when one is missing (docs/upstream-facts.md#capo.machine-lookups,
 * #capo.external-network-lookup).
 */
import { providerNetwork } from '../../plan/host-links.js';
import { computeCapacity } from '../../plan/capacity.js';
import { bomFile } from '../bom.js';
import type { Plan } from '../../plan/schema.js';
import type { SiteContext } from '../context.js';
import { externalNames } from './ustack-network.js';

/**
 * The Kubernetes node image every workload VM boots: an image-builder style qcow2 with
 * containerd, kubelet and kubeadm of one Kubernetes version (CAPO's README, "Operating system
 * images"; docs/upstream-facts.md#imagebuilder.prepull). A real artifact of the bill of
 * materials: the bundle carries it at `file`, the step uploads it to Glance as `name`.
 */
const nodeImage = bomFile('node-image');
export const NODE_IMAGE = {
  name: nodeImage.url.replace(/\.qcow2$/, ''),
  /** The Kubernetes version of its kubelet and kubeadm, as the plan writes it. */
  kubernetesVersion: nodeImage.version.replace(/^v/, ''),
  /** Its place in the offline bundle. */
  file: `files/images/${nodeImage.url}`,
} as const;

/** The Nova keypair the workload VMs get; its private half is handed over, never logged. */
export const GARDEN_KEYPAIR = 'ustart-garden';

/**
 * The workload cluster's own network in uStack and its API endpoint
 * (docs/ugarden-workload-cluster.md, "The API endpoint"). ugarden.openstack-objects creates the
 * network, its subnet, a router to the external network, a port that reserves the API's
 * virtual IP `vip`, and a floating IP on that port; CAPO is given the network
 * (OpenStackCluster `network`/`subnets`, not `managedSubnets`) and the floating IP as the
 * control-plane endpoint. kube-vip on the control-plane machines announces `vip`, which their
 * ports allow as an allowed address pair. The subnet's allocation pool starts above the VIP
 * and the gateway, so Neutron never hands either to a machine.
 */
export const GARDEN_NETWORK = {
  network: 'ustart-garden',
  subnet: 'ustart-garden-subnet',
  router: 'ustart-garden-router',
  /** The port that holds the API's virtual IP; the floating IP is associated with it. */
  apiPort: 'ustart-garden-api',
  cidr: '10.6.0.0/24',
  gateway: '10.6.0.1',
  vip: '10.6.0.10',
  poolStart: '10.6.0.20',
  poolEnd: '10.6.0.254',
} as const;

/**
 * Stands for the API's floating IP in the rendered cluster file: Neutron picks the address
 * when ugarden.openstack-objects creates it, and ugarden.repository writes it in before the
 * commit (lib.sh `garden_cluster_manifest`).
 */
export const GARDEN_API_ADDRESS_PLACEHOLDER = '@garden-api-address@';

/** Machines of the first workload cluster: KubeadmControlPlane and MachineDeployment replicas. */
export const GARDEN_CONTROL_PLANE_REPLICAS = 3;
export const GARDEN_WORKER_REPLICAS = 2;

/** Root disk of every workload VM, GB: room for the node image, images and logs. */
export const GARDEN_ROOT_DISK_GB = 50;

export interface Flavor {
  name: string;
  vcpus: number;
  /** MiB, as `openstack flavor create --ram` takes it. */
  ramMiB: number;
  /** GB, as `--disk` takes it. */
  diskGB: number;
}

export interface GardenFlavors {
  controlPlane: Flavor;
  worker: Flavor;
  /** Why the plan's compute servers cannot hold the cluster; undefined when they can. */
  problem: string | undefined;
}

/**
 * Sizes to choose from, largest first. The smallest is the floor: CAPO recommends at least 2
 * vCPUs for a control-plane machine (docs/upstream-facts.md#capo.machine-lookups), and uStart
 * gives every node 4 GiB so that the CNI, the cloud provider and a few pods fit beside the
 * kubelet.
 */
const CONTROL_PLANE_SIZES = [
  { vcpus: 4, ramMiB: 8192 },
  { vcpus: 2, ramMiB: 4096 },
] as const;
const WORKER_SIZES = [
  { vcpus: 8, ramMiB: 16384 },
  { vcpus: 4, ramMiB: 8192 },
  { vcpus: 2, ramMiB: 4096 },
] as const;

const flavorName = (role: string, vcpus: number, ramMiB: number) =>
  `ustart.garden-${role}.${vcpus}c${ramMiB / 1024}g`;

/**
 * The workload cluster's flavors, sized from the plan's compute servers with the capacity
 * model of src/plan/capacity.ts (the same reservations and overcommit the review shows):
 *
 * - a flavor must fit on one compute server (a VM never spans hosts, and Nova says "No valid
 *   host was found" otherwise): its vCPUs and RAM at most what the largest compute server
 *   offers instances;
 * - the whole cluster (control-plane replicas × control-plane flavor + worker replicas ×
 *   worker flavor) must fit in what all compute servers offer together.
 *
 * The largest control-plane size is chosen first, then the largest worker size that still
 * fits. When not even the smallest sizes fit, the smallest are named and `problem` says why;
 * the step refuses to go on. How the VMs pack onto hosts is left to Nova's scheduler; the
 * root disks (GARDEN_ROOT_DISK_GB each) are not sized from the plan.
 */
export function gardenFlavors(plan: Plan): GardenFlavors {
  const computes = plan.servers.filter((s) => s.roles.includes('compute'));
  const perHost = computes.map((s) => computeCapacity({ ...plan, servers: [s] }).total.compute);
  const total = computeCapacity(plan).total.compute;
  const hostVcpus = Math.max(0, ...perHost.map((c) => c.vcpus));
  const hostRamMiB = Math.max(0, ...perHost.map((c) => Math.floor(c.instanceRamGiB * 1024)));
  const totalRamMiB = Math.floor(total.instanceRamGiB * 1024);
  const onOneHost = (s: { vcpus: number; ramMiB: number }) =>
    s.vcpus <= hostVcpus && s.ramMiB <= hostRamMiB;
  const flavor = (role: string, s: { vcpus: number; ramMiB: number }): Flavor => ({
    name: flavorName(role, s.vcpus, s.ramMiB),
    vcpus: s.vcpus,
    ramMiB: s.ramMiB,
    diskGB: GARDEN_ROOT_DISK_GB,
  });
  for (const cp of CONTROL_PLANE_SIZES) {
    if (!onOneHost(cp)) continue;
    for (const w of WORKER_SIZES) {
      const vcpus = GARDEN_CONTROL_PLANE_REPLICAS * cp.vcpus + GARDEN_WORKER_REPLICAS * w.vcpus;
      const ram = GARDEN_CONTROL_PLANE_REPLICAS * cp.ramMiB + GARDEN_WORKER_REPLICAS * w.ramMiB;
      if (onOneHost(w) && vcpus <= total.vcpus && ram <= totalRamMiB)
        return {
          controlPlane: flavor('control-plane', cp),
          worker: flavor('worker', w),
          problem: undefined,
        };
    }
  }
  const cp = CONTROL_PLANE_SIZES.at(-1)!;
  const w = WORKER_SIZES.at(-1)!;
  const need = {
    vcpus: GARDEN_CONTROL_PLANE_REPLICAS * cp.vcpus + GARDEN_WORKER_REPLICAS * w.vcpus,
    ramGiB: (GARDEN_CONTROL_PLANE_REPLICAS * cp.ramMiB + GARDEN_WORKER_REPLICAS * w.ramMiB) / 1024,
  };
  const problem =
    computes.length === 0
      ? 'the plan has no compute server, so uStack cannot run the workload cluster'
      : `the plan's compute servers offer instances ${total.vcpus} vCPUs and ${total.instanceRamGiB} GiB (at most ${hostVcpus} vCPUs and ${Math.floor(hostRamMiB / 1024)} GiB on one server), but the workload cluster's ${GARDEN_CONTROL_PLANE_REPLICAS} control-plane and ${GARDEN_WORKER_REPLICAS} worker machines need at least ${need.vcpus} vCPUs and ${need.ramGiB} GiB, and ${cp.vcpus} vCPUs and ${cp.ramMiB / 1024} GiB on one server; add compute servers or give them more cores and memory in the plan`;
  return { controlPlane: flavor('control-plane', cp), worker: flavor('worker', w), problem };
}

/**
 * The external network the workload cluster uses: the plan's provider network as
 * ustack.provider-network names it in Neutron, or undefined when the plan makes none
 * (no provider network or no `openstack.externalNetwork`).
 */
export function gardenExternalNetwork(plan: Plan): string | undefined {
  const provider = providerNetwork(plan);
  if (!provider || !plan.openstack.externalNetwork) return undefined;
  return externalNames(provider.name).network;
}

/** Everything the workload cluster references in OpenStack, by the names it uses. */
export function gardenObjects(plan: Plan) {
  return {
    ...gardenFlavors(plan),
    image: NODE_IMAGE,
    keypair: GARDEN_KEYPAIR,
    net: GARDEN_NETWORK,
    externalNetwork: gardenExternalNetwork(plan),
  };
}

/**
 * The input of ugarden.openstack-objects: `key<TAB>value` lines the script reads without
 * evaluating them. `problem` is `-` when the plan can hold the cluster.
 */
export function gardenObjectsConfig(ctx: SiteContext): string {
  const o = gardenObjects(ctx.plan);
  const problems = [
    o.problem,
    o.externalNetwork
      ? undefined
      : 'the plan sets no openstack.externalNetwork (or has no provider network): the workload cluster needs an external network for its API floating IP and its router; add openstack.externalNetwork with a floating range of the provider network, and run the uStack phase again so that ustack.provider-network creates it',
    ctx.k8sVersion === NODE_IMAGE.kubernetesVersion
      ? undefined
      : `the plan's kubernetes.version is ${ctx.k8sVersion}, but the bundle's node image ${NODE_IMAGE.name} holds Kubernetes ${NODE_IMAGE.kubernetesVersion}; the workload machines would boot a kubelet and kubeadm of another version`,
  ].filter((p): p is string => p !== undefined);
  const rows: [string, string | number][] = [
    ['problem', problems.length ? problems.join('; ') : '-'],
    ['cp-flavor', o.controlPlane.name],
    ['cp-vcpus', o.controlPlane.vcpus],
    ['cp-ram', o.controlPlane.ramMiB],
    ['cp-disk', o.controlPlane.diskGB],
    ['worker-flavor', o.worker.name],
    ['worker-vcpus', o.worker.vcpus],
    ['worker-ram', o.worker.ramMiB],
    ['worker-disk', o.worker.diskGB],
    ['image', o.image.name],
    ['image-file', o.image.file],
    ['keypair', o.keypair],
    ['external-network', o.externalNetwork ?? '-'],
    ['network', o.net.network],
    ['subnet', o.net.subnet],
    ['subnet-range', o.net.cidr],
    ['gateway', o.net.gateway],
    ['pool-start', o.net.poolStart],
    ['pool-end', o.net.poolEnd],
    ['dns', ctx.plan.site.dns.join(',') || '-'],
    ['router', o.net.router],
    ['api-port', o.net.apiPort],
    ['api-vip', o.net.vip],
  ];
  return rows.map((r) => r.join('\t')).join('\n') + '\n';
}
