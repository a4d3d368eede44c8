/**
 * The openstack double's Neutron commands (test/doubles/openstack.mjs), run as the
 * ustack.provider-network step runs them: what python-openstackclient and Neutron refuse, so a
 * wrong script or a NeutronDeployment without the physnet fails here as it would on a site.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../src/plan/load.js';
import { hostContext, siteContext } from '../../src/render/context.js';
import { yaookResource } from '../../src/render/generators/ustack.js';
import { assetPath } from '../../src/util/assets.js';
import { adminClouds, doublesFolder, keystoneSecrets, makeCaCertificate } from './harness.js';

let dir: string;
let env: Record<string, string>;
const { put, sh } = doublesFolder(() => dir);
/** The site's root CA, which Keystone's certificate comes from. */
let CA: string;

beforeAll(async () => {
  CA = await makeCaCertificate();
});

const os = (line: string) => sh(`openstack ${line}`, env);

/** Keystone and Neutron as the operators leave them; Neutron rendered from the demo plan. */
async function seed(neutronSpec?: (spec: Record<string, unknown>) => void) {
  const plan = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  const neutron = yaookResource(hostContext(siteContext(plan), plan.servers[0]!), 'neutron') as {
    spec: Record<string, unknown>;
  };
  neutronSpec?.(neutron.spec);
  await mkdir(join(dir, 'state'), { recursive: true });
  await writeFile(
    join(dir, 'state', 'objects.json'),
    JSON.stringify({
      'KeystoneDeployment/yaook/keystone': {
        apiVersion: 'yaook.cloud/v1',
        kind: 'KeystoneDeployment',
        metadata: { name: 'keystone', namespace: 'yaook' },
        spec: { api: { ingress: { fqdn: 'keystone.lab.example' } }, region: { name: 'RegionOne' } },
      },
      'NeutronDeployment/yaook/neutron': neutron,
      ...keystoneSecrets('s3cret', CA),
    }),
  );
  await writeFile(
    join(dir, 'state', 'helm.json'),
    JSON.stringify({
      'yaook/yaook-crds': { chart: 'crds-0.20.0.tgz' },
      'yaook/yaook-keystone': { chart: 'keystone-operator-0.20.0.tgz' },
      'yaook/yaook-neutron': { chart: 'neutron-operator-0.20.0.tgz' },
    }),
  );
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-openstack-double-'));
  await put('/etc/kubernetes/admin.conf', 'apiVersion: v1\nkind: Config\n');
  const clouds = await put('/clouds.yaml', adminClouds('s3cret', await put('/ca.crt', CA)));
  env = { OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: 'ustack' };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const NETWORK =
  'network create provider --external --provider-network-type flat --provider-physical-network';
const SUBNET =
  'subnet create provider-subnet --network provider --subnet-range 203.0.113.0/24 --gateway 203.0.113.1 --no-dhcp --allocation-pool';

describe('the openstack double: the provider network in Neutron', { timeout: 120_000 }, () => {
  it('creates the network, subnet and router the step asks for, and shows them', async () => {
    await seed();
    expect(os(`${NETWORK} provider`).stderr).toBe('');
    expect(os(`${SUBNET} start=203.0.113.100,end=203.0.113.250`).stderr).toBe('');
    expect(os('router create provider-router').stderr).toBe('');
    expect(os('router show provider-router -f value -c external_gateway_info').stdout).toBe(
      'null\n',
    );
    expect(os('router set provider-router --external-gateway provider').stderr).toBe('');
    const id = os('network show provider -f value -c id').stdout.trim();
    expect(os('network show provider -f value -c router:external').stdout).toBe('External\n');
    expect(os('network show provider -f value -c provider:physical_network').stdout).toBe(
      'provider\n',
    );
    expect(os('subnet show provider-subnet -f value -c network_id').stdout.trim()).toBe(id);
    const gw = os('router show provider-router -f value -c external_gateway_info').stdout;
    expect(gw).toContain(`"network_id": "${id}"`);
    // The gateway port takes the first address of the floating range.
    expect(gw).toContain('"ip_address": "203.0.113.100"');
    // The gateway is bridged: the NeutronDeployment maps physnet provider on the compute nodes.
    const calls = (await readFile(join(dir, 'state', 'calls.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[]; seen?: { bridged?: boolean } });
    const set = calls.find((c) => c.argv.includes('--external-gateway'))!;
    expect(set.seen?.bridged).toBe(true);
  });

  it('refuses a physnet the NeutronDeployment does not list as flat (today’s physnet1)', async () => {
    await seed();
    const r = os(`${NETWORK} physnet1`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("physical_network 'physnet1' unknown for flat provider network");
  });

  it('accepts any physnet when Neutron keeps ML2’s default flat_networks (*)', async () => {
    await seed((spec) => delete spec.neutronML2Config);
    expect(os(`${NETWORK} physnet1`).status).toBe(0);
  });

  it('refuses a second flat network on one physnet, and a flat network without a physnet', async () => {
    await seed();
    expect(os(`${NETWORK} provider`).status).toBe(0);
    expect(
      os(
        'network create other --external --provider-network-type flat --provider-physical-network provider',
      ).stderr,
    ).toContain('Physical network provider is in use');
    expect(os('network create other --provider-network-type flat').stderr).toContain(
      'physical_network required for flat provider network',
    );
  });

  it('refuses an allocation pool outside the CIDR or over the gateway', async () => {
    await seed();
    expect(os(`${NETWORK} provider`).status).toBe(0);
    expect(os(`${SUBNET} start=203.0.113.100,end=203.0.113.255`).stderr).toContain(
      'spans beyond the subnet cidr',
    );
    expect(os(`${SUBNET} start=203.0.113.1,end=203.0.113.20`).stderr).toContain(
      'Gateway ip 203.0.113.1 conflicts with allocation pool',
    );
    expect(os(`${SUBNET} start=203.0.113.100`).status).toBe(2);
    expect(
      os('subnet create s --network provider --dhcp --no-dhcp --subnet-range 203.0.113.0/24')
        .status,
    ).toBe(2);
  });

  it('refuses flags the client does not have, and a gateway on an internal network', async () => {
    await seed();
    expect(os('network create provider --provider-physnet provider').status).toBe(2);
    expect(os('network create internal').status).toBe(0);
    expect(os('router create r --external-gateway internal').stderr).toContain(
      'is not an external network',
    );
  });

  it('makes a second network of one name, after which the client cannot pick it by name', async () => {
    await seed();
    expect(os(`${NETWORK} provider`).status).toBe(0);
    os('network create provider');
    expect(os('network show provider -f value -c id').stderr).toContain(
      "More than one network exists with the name 'provider'",
    );
  });
});

describe(
  "the openstack double: the workload API's virtual IP and floating IP",
  { timeout: 120_000 },
  () => {
    it('reserves a named address outside the pool, refuses it taken or outside the subnet, and associates a floating IP only across a router', async () => {
      await seed();
      expect(os(`${NETWORK} provider`).stderr).toBe('');
      expect(os(`${SUBNET} start=203.0.113.100,end=203.0.113.250`).stderr).toBe('');
      expect(os('network create garden').stderr).toBe('');
      const subnet =
        'subnet create garden-subnet --network garden --subnet-range 10.6.0.0/24 --gateway 10.6.0.1 --allocation-pool start=10.6.0.20,end=10.6.0.254 --dns-nameserver 192.0.2.53';
      expect(os(subnet).stderr).toBe('');
      // Neutron gives a named address anywhere in the CIDR, the pool or not.
      const port = 'port create api --network garden --fixed-ip subnet=garden-subnet,ip-address=';
      expect(os(`${port}10.6.0.10`).stderr).toBe('');
      expect(os(`${port.replace('api ', 'api2 ')}10.6.0.10`).stderr).toContain('already allocated');
      expect(os(`${port.replace('api ', 'api3 ')}10.7.0.10`).stderr).toContain(
        'not a valid IP for the specified subnet',
      );
      const shown = JSON.parse(os('port show api -f json -c fixed_ips').stdout) as {
        fixed_ips: { ip_address: string }[];
      };
      expect(shown.fixed_ips.map((f) => f.ip_address)).toEqual(['10.6.0.10']);
      // No router joins garden to the provider network yet: Neutron cannot associate.
      expect(os('floating ip create provider --port api').stderr).toContain(
        'is not reachable from subnet',
      );
      expect(os('router create garden-router --external-gateway provider').stderr).toBe('');
      expect(os('router add subnet garden-router garden-subnet').stderr).toBe('');
      expect(os('router add subnet garden-router garden-subnet').stderr).toContain(
        'already has a port on subnet',
      );
      const interfaces = JSON.parse(
        os('router show garden-router -f json -c interfaces_info').stdout,
      ) as { interfaces_info: { ip_address: string }[] };
      expect(interfaces.interfaces_info.map((i) => i.ip_address)).toEqual(['10.6.0.1']);
      const address = os(
        'floating ip create provider --port api -f value -c floating_ip_address',
      ).stdout.trim();
      // The router's gateway took the pool's first address, the floating IP the next.
      expect(address).toBe('203.0.113.101');
      expect(os('floating ip list --port api -f value -c "Floating IP Address"').stdout).toBe(
        `${address}\n`,
      );
    });
  },
);
