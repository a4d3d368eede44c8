/**
 * openstack CLI test double, for the smoke test and Cluster API's application credential.
 * It logs in the way the real client does, from OS_CLIENT_CONFIG_FILE and OS_CLOUD, and checks
 * that login against the uStack the shared cluster model (cluster.mjs) holds: the auth URL of
 * Keystone's ingress, the region, the admin password from Keystone's Secret or a credential it
 * issued, the root CA. A resource needs its service's Yaook resource reconciled (a network
 * Neutron, an image Glance, a server Nova with a hypervisor node). Resources live in
 * openstack.json in the double's state folder.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { parse } from 'yaml';
import { find, load, secretData, view } from './cluster.mjs';
import { at, parseFlags, pemBody, readState, refuse, runDouble, writeState } from './lib.mjs';

const KNOWN = [
  'f',
  'format',
  'c',
  'column',
  'network',
  'subnet-range',
  'vcpus',
  'ram',
  'disk',
  'disk-format',
  'container-format',
  'file',
  'flavor',
  'image',
  'wait!',
  ...neutronFlags(),
  ...keypairFlags(),
];
const RESOURCES = {
  network: 'neutron',
  subnet: 'neutron',
  image: 'glance',
  flavor: 'nova',
  server: 'nova',
  router: 'neutron',
};
const KIND = { neutron: 'NeutronDeployment', glance: 'GlanceDeployment', nova: 'NovaDeployment' };

function session(state, argv) {
  const file = process.env.OS_CLIENT_CONFIG_FILE;
  const name = process.env.OS_CLOUD;
  if (!file || !name) refuse('Missing value auth-url required for auth plugin password');
  if ((statSync(file).mode & 0o077) !== 0)
    refuse(`${file} is readable by others: credentials must be private`);
  const cloud = parse(readFileSync(file, 'utf8'))?.clouds?.[name];
  if (!cloud) refuse(`cloud ${name} is not in ${file}`);
  const keystone = find(state, 'KeystoneDeployment', 'yaook', 'keystone');
  if (!keystone || view(state, keystone).status.phase !== 'Updated')
    refuse('Failed to discover available identity versions: Keystone is not running');
  const authUrl = `https://${keystone.spec.api.ingress.fqdn}/v3`;
  if (cloud.auth?.auth_url !== authUrl)
    refuse(`auth_url ${cloud.auth?.auth_url} is not Keystone's ${authUrl}`);
  if (cloud.region_name !== keystone.spec.region.name)
    refuse(`region ${cloud.region_name} is not uStack's ${keystone.spec.region.name}`);
  // TLS: Keystone's certificate comes from the site's root CA. The client trusts the
  // clouds.yaml cacert when there is one, else the host's trust store
  // (docs/upstream-facts.md#debian.ca-certificates); anything else fails verification.
  const ca = secretData(state, 'yaook', 'root-ca', 'tls.crt');
  if (cloud.cacert !== undefined) {
    if (!existsSync(cloud.cacert)) refuse(`cacert ${cloud.cacert}: No such file or directory`);
    if (pemBody(readFileSync(cloud.cacert, 'utf8')) !== pemBody(ca))
      refuse(`${cloud.cacert} is not the site's root CA: SSL: CERTIFICATE_VERIFY_FAILED`);
  } else {
    const store = at('/etc/ssl/certs/ca-certificates.crt');
    const trusted = existsSync(store) && pemBody(readFileSync(store, 'utf8')).includes(pemBody(ca));
    if (!ca || !trusted)
      refuse(
        `SSL exception connecting to ${authUrl}: certificate verify failed: unable to get local issuer certificate (the site's root CA is neither in clouds.yaml's cacert nor in the host's trust store)`,
      );
  }
  const password = secretData(state, 'yaook', 'keystone-admin', 'OS_PASSWORD');
  if (argv.some((a) => password && a.includes(password)))
    refuse('a password is on the command line');
  const credentials = readState('openstack.json', {}).credentials ?? {};
  if (cloud.auth_type === 'v3applicationcredential') {
    const c = credentials[cloud.auth.application_credential_id];
    if (!c || c.secret !== cloud.auth.application_credential_secret)
      refuse('The request you have made requires authentication (application credential)');
    return;
  }
  // docs/upstream-facts.md#yaook.admin-credentials: the admin Keystone bootstrapped, as the
  // Secret names it (user, project, domains), with its password.
  const admin = (key) => secretData(state, 'yaook', 'keystone-admin', key);
  const expected = {
    username: admin('OS_USERNAME'),
    password,
    project_name: admin('OS_PROJECT_NAME'),
    user_domain_name: admin('OS_USER_DOMAIN_NAME'),
    project_domain_name: admin('OS_PROJECT_DOMAIN_NAME'),
  };
  for (const [key, value] of Object.entries(expected))
    if (value === undefined || cloud.auth?.[key] !== value)
      refuse(`The request you have made requires authentication (HTTP 401): ${key} does not match`);
}

function serviceUp(state, service) {
  const o = find(state, KIND[service], 'yaook', service);
  if (!o || view(state, o).status.phase !== 'Updated')
    refuse(`public endpoint for ${service === 'nova' ? 'compute' : service} service not found`);
}

runDouble('openstack', (argv) => {
  const { flags, rest } = parseFlags(argv, KNOWN);
  const state = load();
  session(state, argv);
  const os = readState('openstack.json', {});
  for (const k of [
    'network',
    'subnet',
    'image',
    'flavor',
    'server',
    'credentials',
    'router',
    'keypair',
    'port',
    'floatingip',
  ])
    os[k] ??= {};
  const columns = (row) => {
    const wanted = [flags.get('c')].flat();
    const all = argv.flatMap((a, i) => (a === '-c' || a === '--column' ? [argv[i + 1]] : []));
    const names = all.length ? all : wanted;
    // docs/upstream-facts.md#osc-json: `-f json` prints one object of the asked columns, a
    // list or dict column as JSON itself (cliff's JSON formatter, indented by 2).
    if (flags.get('f') === 'json')
      process.stdout.write(
        `${JSON.stringify(Object.fromEntries(names.map((c) => [c, row[c]])), null, 2)}\n`,
      );
    else process.stdout.write(names.map((c) => `${row[c]}\n`).join(''));
  };
  let seen;
  if (rest[0] === 'application' && rest[1] === 'credential' && rest[2] === 'delete') {
    // Keystone keeps one credential of a name per user (a create of a taken name is 409).
    const ids = Object.keys(os.credentials).filter((id) => os.credentials[id].name === rest[3]);
    if (ids.length === 0)
      refuse(`No applicationcredential with a name or ID of '${rest[3]}' exists.`);
    for (const id of ids) delete os.credentials[id];
    seen = { deleted: rest[3] };
  } else if (rest[0] === 'application' && rest[1] === 'credential' && rest[2] === 'create') {
    if (Object.values(os.credentials).some((c) => c.name === rest[3]))
      refuse(
        `Conflict occurred attempting to store application_credential - Duplicate entry found with name ${rest[3]}. (HTTP 409)`,
      );
    const id = randomBytes(16).toString('hex');
    const secret = randomBytes(24).toString('base64url');
    os.credentials[id] = { name: rest[3], secret };
    columns({ id, secret, name: rest[3] });
    seen = { credential: rest[3] };
  } else if (rest[0] === 'keypair') {
    serviceUp(state, 'nova');
    seen = keypairCommand(os, rest, flags);
  } else if (neutronCommands().has(`${rest[0]} ${rest[1]}`)) {
    serviceUp(state, 'neutron');
    seen = neutronCommand(state, os, rest, flags, columns);
  } else {
    const [resource, action, name] = rest;
    const service = RESOURCES[resource];
    if (!service)
      refuse(`openstack: '${rest.join(' ')}' is not an openstack command (in this double)`, 2);
    serviceUp(state, service);
    const table = os[resource];
    if (action === 'delete') {
      if (!table[name]) refuse(`No ${resource} with a name or ID of '${name}' exists.`);
      if (resource === 'network' && Object.values(os.subnet).some((s) => s.network === name))
        refuse(`Unable to delete network ${name}: it has subnets (delete them first)`);
      delete table[name];
    } else if (action === 'create') {
      if (table[name]) refuse(`${resource} ${name} already exists`);
      const spec = Object.fromEntries(flags);
      if (resource === 'subnet' && !os.network[spec.network])
        refuse(`network ${spec.network} not found`);
      if (resource === 'image') {
        const head = readFileSync(spec.file).subarray(0, 4);
        if (spec['disk-format'] !== 'qcow2' || head.toString('latin1') !== 'QFI\xfb')
          refuse(`${spec.file} is not a qcow2 image`);
      }
      if (resource === 'server') {
        for (const [k, t] of [
          ['flavor', 'flavor'],
          ['image', 'image'],
          ['network', 'network'],
        ])
          if (!os[t][spec[k]]) refuse(`No ${t} with a name or ID of '${spec[k]}' exists.`);
        if (!Object.values(os.subnet).some((s) => s.network === spec.network))
          refuse(`network ${spec.network} has no subnet: no port can be made`);
        const hypervisors = Object.values(readState('nodes-meta.json', {})).filter(
          (n) => n.labels['compute.yaook.cloud/hypervisor'] === 'true',
        );
        if (hypervisors.length === 0) refuse('No valid host was found (no hypervisor)');
        spec.status = 'ACTIVE';
      }
      // Nova and Glance give every flavor and image an id; an uploaded image becomes active.
      if (resource === 'flavor' || resource === 'image') spec.id = randomUUID();
      if (resource === 'image') spec.status = 'active';
      table[name] = spec;
    } else if (action === 'show') {
      if (!table[name]) refuse(`No ${resource} with a name or ID of '${name}' exists.`);
      columns(table[name]);
    } else refuse(`openstack ${resource} ${action}: not in this double`, 2);
    seen = { resource, action, name };
  }
  writeState('openstack.json', os);
  return seen;
});

/*
 * Neutron's networks, subnets and routers, as the provider-network step and the smoke test
 * use them: the python-openstackclient flags (docs/upstream-facts.md#osc-network-create,
 * #osc-subnet-create, #osc-router-gateway) and what Neutron refuses
 * (docs/upstream-facts.md#neutron-flat-physnet, #neutron-flat-one-per-physnet,
 * #neutron-allocation-pool-in-cidr, #neutron-gateway-outside-pool). Neutron allows two
 * networks of one name; the client then refuses to pick one by that name
 * (docs/upstream-facts.md#osc-name-ambiguous), which is what a step that creates twice meets.
 */
// Functions, not constants: KNOWN and runDouble above use them before this part is evaluated.
function neutronFlags() {
  return [
    'external!',
    'internal!',
    'share!',
    'provider-network-type',
    'provider-physical-network',
    'gateway',
    'allocation-pool',
    'dhcp!',
    'no-dhcp!',
    'external-gateway',
    'dns-nameserver',
    'fixed-ip',
    'port',
    'description',
  ];
}
function neutronCommands() {
  return new Set([
    'network create',
    'network show',
    'subnet create',
    'subnet show',
    'router create',
    'router set',
    'router show',
    'router add',
    'port create',
    'port show',
    'floating ip',
  ]);
}

function ipv4(text, what) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text ?? '');
  if (!m || m.slice(1).some((o) => Number(o) > 255))
    refuse(`Invalid input for ${what}: '${text}' is not a valid IP address`);
  return m.slice(1).reduce((a, o) => a * 256 + Number(o), 0);
}

function cidrOf(text) {
  const [addr, bits] = (text ?? '').split('/');
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32)
    refuse(`Invalid input for cidr: '${text}' is not a valid IP subnet`);
  const size = 2 ** (32 - prefix);
  const network = ipv4(addr, 'cidr') - (ipv4(addr, 'cidr') % size);
  return { network, last: network + size - 1, prefix };
}

/** The one resource of a name; refuses none or several, as the client does. */
function byName(os, resource, name) {
  const r = os[resource][name];
  if (!r) refuse(`No ${resource} found for ${name}`);
  if ((r.copies ?? 1) > 1) refuse(`More than one ${resource} exists with the name '${name}'.`);
  return r;
}

/** The physnets Neutron accepts for flat networks, or null for any (ML2's default `*`). */
function flatNetworks(state) {
  const neutron = find(state, 'NeutronDeployment', 'yaook', 'neutron');
  const list = neutron?.spec?.neutronML2Config?.ml2_type_flat?.flat_networks;
  if (list === undefined) return null;
  const names = (Array.isArray(list) ? list : String(list).split(','))
    .map((n) => String(n).trim())
    .filter(Boolean);
  return names.includes('*') ? null : names;
}

/** The physnets some compute node's OVN bridge maps (setup.ovn.controller.configTemplates). */
function bridgedPhysnets(state) {
  const neutron = find(state, 'NeutronDeployment', 'yaook', 'neutron');
  const templates = neutron?.spec?.setup?.ovn?.controller?.configTemplates ?? [];
  return new Set(
    templates.flatMap((t) => (t.bridgeConfig ?? []).map((b) => b.openstackPhysicalNetwork)),
  );
}

function createNetwork(state, os, name, flags) {
  if (flags.has('external') && flags.has('internal'))
    refuse('argument --internal: not allowed with argument --external', 2);
  const type = flags.get('provider-network-type');
  const physnet = flags.get('provider-physical-network');
  if (type !== undefined && !['flat', 'geneve', 'gre', 'local', 'vlan', 'vxlan'].includes(type))
    refuse(`Invalid input for operation: network_type value '${type}' not supported`);
  if (type === 'flat') {
    if (!physnet)
      refuse('Invalid input for operation: physical_network required for flat provider network');
    const allowed = flatNetworks(state);
    if (allowed !== null && allowed.length === 0)
      refuse('Invalid input for operation: Flat provider networks are disabled');
    if (allowed !== null && !allowed.includes(physnet))
      refuse(
        `Invalid input for operation: physical_network '${physnet}' unknown for flat provider network`,
      );
    if (Object.values(os.network).some((n) => n.type === 'flat' && n.physnet === physnet))
      refuse(`Unable to create the flat network. Physical network ${physnet} is in use.`);
  } else if (physnet !== undefined && type === undefined) {
    refuse('Invalid input for operation: a provider physical network needs a network type');
  }
  const existing = os.network[name];
  if (existing) {
    existing.copies = (existing.copies ?? 1) + 1;
    return { bridged: undefined };
  }
  os.network[name] = {
    id: randomUUID(),
    name,
    external: flags.has('external'),
    type: type ?? 'geneve',
    physnet: physnet ?? null,
  };
  return { bridged: physnet ? bridgedPhysnets(state).has(physnet) : undefined };
}

function createSubnet(os, name, flags) {
  const network = byName(os, 'network', flags.get('network'));
  if (flags.has('dhcp') && flags.has('no-dhcp'))
    refuse('argument --no-dhcp: not allowed with argument --dhcp', 2);
  if (!flags.has('subnet-range'))
    refuse('Bad request: a cidr must be given in the absence of a subnet pool');
  const cidr = cidrOf(flags.get('subnet-range'));
  // IPv4 subnets of /30 and larger keep the network and broadcast addresses out of pools.
  const first = cidr.prefix <= 30 ? cidr.network + 1 : cidr.network;
  const last = cidr.prefix <= 30 ? cidr.last - 1 : cidr.last;
  const gw = flags.get('gateway') ?? 'auto';
  const gateway = gw === 'none' ? null : gw === 'auto' ? first : ipv4(gw, 'gateway_ip');
  let pool = [first, last];
  if (flags.has('allocation-pool')) {
    const kv = Object.fromEntries(
      String(flags.get('allocation-pool'))
        .split(',')
        .map((p) => p.split('=')),
    );
    if (!kv.start || !kv.end)
      refuse('argument --allocation-pool: Missing required keys start, end', 2);
    pool = [ipv4(kv.start, 'allocation_pools'), ipv4(kv.end, 'allocation_pools')];
    if (pool[0] > pool[1])
      refuse(`Invalid input: the allocation pool ${kv.start}-${kv.end} ends before it starts`);
    if (pool[0] < first || pool[1] > last)
      refuse(
        `The allocation pool ${kv.start}-${kv.end} spans beyond the subnet cidr ${flags.get('subnet-range')}.`,
      );
  } else if (gateway !== null && gateway === first) {
    pool = [first + 1, last];
  }
  if (gateway !== null && gateway >= pool[0] && gateway <= pool[1])
    refuse(`Gateway ip ${gw} conflicts with allocation pool ${fmt(pool[0])}-${fmt(pool[1])}`);
  if (os.subnet[name]) {
    os.subnet[name].copies = (os.subnet[name].copies ?? 1) + 1;
    return;
  }
  os.subnet[name] = {
    id: randomUUID(),
    name,
    network: flags.get('network'),
    network_id: network.id,
    cidr: flags.get('subnet-range'),
    gateway_ip: gateway === null ? 'None' : fmt(gateway),
    pool,
    used: [],
    enable_dhcp: !flags.has('no-dhcp'),
    dns_nameservers: argvValues('--dns-nameserver'),
  };
}

function fmt(n) {
  return [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
}

/** Gives a router its gateway: a port with the first free address of the external network's pools. */
function setGateway(state, os, router, networkName) {
  const network = byName(os, 'network', networkName);
  if (!network.external)
    refuse(`Bad router request: Network ${network.id} is not an external network`);
  const subnet = Object.values(os.subnet).find((s) => s.network_id === network.id);
  let ip;
  if (subnet) {
    for (let a = subnet.pool[0]; a <= subnet.pool[1] && ip === undefined; a++)
      if (!subnet.used.includes(a)) ip = a;
    if (ip === undefined) refuse(`No more IP addresses available on network ${network.id}.`);
    subnet.used.push(ip);
  }
  router.gateway = {
    network_id: network.id,
    external_fixed_ips: subnet ? [{ subnet_id: subnet.id, ip_address: fmt(ip) }] : [],
    enable_snat: true,
  };
  // OVN binds the gateway port on a chassis that maps the network's physnet; without one the
  // API call succeeds and the port stays down, so the double records it instead of refusing.
  return { bridged: network.physnet ? bridgedPhysnets(state).has(network.physnet) : undefined };
}

/** Shows one resource's columns as `-f value -c …` (or `-f json`) prints them. */
function showRow(resource, r, asJson = false) {
  if (resource === 'network')
    return {
      id: r.id,
      name: r.name,
      'router:external': r.external ? 'External' : 'Internal',
      'provider:network_type': r.type,
      'provider:physical_network': r.physnet ?? 'None',
    };
  if (resource === 'subnet')
    return {
      ...r,
      allocation_pools: `${fmt(r.pool[0])}-${fmt(r.pool[1])}`,
      enable_dhcp: r.enable_dhcp ? 'True' : 'False',
    };
  if (resource === 'port') return { id: r.id, name: r.name, fixed_ips: r.fixed_ips };
  // The client prints external_gateway_info as JSON (json.dumps: ", " and ": ").
  return {
    id: r.id,
    name: r.name,
    external_gateway_info: asJson
      ? r.gateway
      : r.gateway
        ? JSON.stringify(r.gateway).replace(/,"/g, ', "').replace(/":/g, '": ')
        : 'null',
    // docs/upstream-facts.md#osc-router-interfaces: the router's ports but its gateway.
    interfaces_info: r.interfaces ?? [],
  };
}

function neutronCommand(state, os, rest, flags, columns) {
  if (rest[0] === 'floating') return floatingIpCommand(os, rest.slice(1), flags, columns);
  if (rest[0] === 'port') return portCommand(os, rest, flags, columns);
  if (rest[0] === 'router' && rest[1] === 'add') return addRouterSubnet(os, rest);
  const [resource, action, name] = rest;
  if (!name)
    refuse(
      `openstack ${resource} ${action}: error: the following arguments are required: <name>`,
      2,
    );
  let extra = {};
  if (action === 'show') {
    columns(showRow(resource, byName(os, resource, name), flags.get('f') === 'json'));
  } else if (resource === 'network') {
    extra = createNetwork(state, os, name, flags);
  } else if (resource === 'subnet') {
    createSubnet(os, name, flags);
  } else if (action === 'create') {
    if (os.router[name]) os.router[name].copies = (os.router[name].copies ?? 1) + 1;
    else os.router[name] = { id: randomUUID(), name, gateway: null };
    if (flags.has('external-gateway'))
      extra = setGateway(state, os, os.router[name], flags.get('external-gateway'));
  } else {
    const router = byName(os, 'router', name);
    if (flags.has('external-gateway'))
      extra = setGateway(state, os, router, flags.get('external-gateway'));
  }
  return {
    resource,
    action,
    name,
    flags: Object.fromEntries(flags),
    ...(extra.bridged !== undefined ? { bridged: extra.bridged } : {}),
  };
}

/*
 * Nova keypairs as ugarden.openstack-objects makes them: python-openstackclient's
 * `keypair create NAME --public-key FILE | --private-key FILE` (mutually exclusive) and
 * `keypair show [--public-key] NAME` (docs/upstream-facts.md#osc-keypair). Without
 * --public-key Nova generates the key and the client prints the private half to stdout, where
 * a step's log would keep it: the double refuses that, stricter than the client.
 */
function keypairFlags() {
  return ['public-key', 'private-key'];
}

function keypairCommand(os, rest, flags) {
  const [, action] = rest;
  let name = rest[2];
  // `show --public-key` is a switch; the flag parser took the name as its value.
  const showPublic = action === 'show' && flags.has('public-key');
  if (showPublic && name === undefined) name = flags.get('public-key');
  if (!name)
    refuse(`openstack keypair ${action}: error: the following arguments are required: <name>`, 2);
  if (action === 'show') {
    const k = os.keypair[name];
    if (!k) refuse(`No keypair with a name or ID of '${name}' exists.`);
    if (showPublic) process.stdout.write(k.public_key);
    else {
      const wanted = argvColumns();
      const row = { name, fingerprint: k.fingerprint, type: 'ssh', public_key: k.public_key };
      process.stdout.write(wanted.map((c) => `${row[c]}\n`).join(''));
    }
    return { resource: 'keypair', action, name };
  }
  if (action === 'delete') {
    if (!os.keypair[name]) refuse(`No keypair with a name or ID of '${name}' exists.`);
    delete os.keypair[name];
    return { resource: 'keypair', action, name };
  }
  if (action !== 'create') refuse(`openstack keypair ${action}: not in this double`, 2);
  if (flags.has('public-key') && flags.has('private-key'))
    refuse('argument --private-key: not allowed with argument --public-key', 2);
  if (!flags.has('public-key'))
    refuse(
      'keypair create without --public-key: Nova would generate the key and the client print its private half to stdout, into the step log',
    );
  const file = flags.get('public-key');
  if (!existsSync(file)) refuse(`Key file ${file} not found: No such file or directory`);
  const text = readFileSync(file, 'utf8');
  if (text.includes('PRIVATE KEY'))
    refuse(`${file} holds a private key: a private key must never leave the host`);
  const m = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) ([A-Za-z0-9+/=]+)(\s|$)/.exec(text);
  if (!m) refuse('Keypair data is invalid: failed to generate fingerprint (HTTP 400)');
  if (os.keypair[name]) refuse(`Key pair '${name}' already exists. (HTTP 409)`);
  const fingerprint = createHash('md5')
    .update(Buffer.from(m[2], 'base64'))
    .digest('hex')
    .replace(/(..)(?!$)/g, '$1:');
  os.keypair[name] = { public_key: text, fingerprint };
  return { resource: 'keypair', action, name, fingerprint };
}

/** The `-c`/`--column` names of this call, in order. */
function argvColumns() {
  const argv = process.argv.slice(2);
  return argv.flatMap((a, i) => (a === '-c' || a === '--column' ? [argv[i + 1]] : []));
}

/** Every value of a repeatable flag in this call, in order. */
function argvValues(flag) {
  const argv = process.argv.slice(2);
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
}

/** The one subnet of a name or id. */
function subnetOf(os, ref) {
  const hit = Object.values(os.subnet).find((s) => s.id === ref);
  return hit ?? byName(os, 'subnet', ref);
}

/**
 * `router add subnet ROUTER SUBNET`: the router gets a port with the subnet's gateway address
 * (docs/upstream-facts.md#neutron-router-interface); a subnet without a gateway, or one the
 * router already has, is refused as Neutron refuses it.
 */
function addRouterSubnet(os, rest) {
  const [, , what, routerName, subnetName] = rest;
  if (what !== 'subnet' || !routerName || !subnetName)
    refuse('usage: openstack router add subnet <router> <subnet> (in this double)', 2);
  const router = byName(os, 'router', routerName);
  const subnet = subnetOf(os, subnetName);
  if (subnet.gateway_ip === 'None')
    refuse(`Bad router request: Subnet ${subnet.id} does not have a gateway IP (HTTP 400)`);
  router.interfaces ??= [];
  if (router.interfaces.some((i) => i.subnet_id === subnet.id))
    refuse(`Bad router request: Router already has a port on subnet ${subnet.id}. (HTTP 400)`);
  router.interfaces.push({
    port_id: randomUUID(),
    ip_address: subnet.gateway_ip,
    subnet_id: subnet.id,
  });
  return { resource: 'router', action: 'add subnet', name: routerName, subnet: subnet.name };
}

/**
 * Ports, as ugarden.openstack-objects reserves the workload API's virtual IP:
 * `port create NAME --network NET --fixed-ip subnet=S,ip-address=A` and `port show`
 * (docs/upstream-facts.md#osc-port-create). Neutron gives a named address when it lies in the
 * subnet's CIDR (not its network or broadcast address) and is not taken, inside the allocation
 * pool or not (docs/upstream-facts.md#neutron.fixed-ip).
 */
function portCommand(os, rest, flags, columns) {
  const [, action, name] = rest;
  if (!name)
    refuse(`openstack port ${action}: error: the following arguments are required: <name>`, 2);
  if (action === 'show') {
    columns(showRow('port', byName(os, 'port', name)));
    return { resource: 'port', action, name };
  }
  const network = byName(os, 'network', flags.get('network'));
  const fixed = [];
  for (const spec of argvValues('--fixed-ip')) {
    const kv = Object.fromEntries(spec.split(',').map((p) => p.split('=')));
    const subnet = kv.subnet
      ? subnetOf(os, kv.subnet)
      : Object.values(os.subnet).find((s) => s.network_id === network.id);
    if (!subnet || subnet.network_id !== network.id)
      refuse(
        `Invalid input for operation: Failed to create port on network ${network.id}, because fixed_ips included invalid subnet ${kv.subnet}.`,
      );
    const cidr = cidrOf(subnet.cidr);
    const a = kv['ip-address'] !== undefined ? ipv4(kv['ip-address'], 'ip_address') : undefined;
    if (a !== undefined && (a <= cidr.network || a >= cidr.last))
      refuse(
        `IP address ${kv['ip-address']} is not a valid IP for the specified subnet. (HTTP 400)`,
      );
    const taken = (n) =>
      subnet.used.includes(n) ||
      Object.values(os.router).some((r) =>
        (r.interfaces ?? []).some((i) => i.subnet_id === subnet.id && i.ip_address === fmt(n)),
      );
    let ip = a;
    if (ip === undefined)
      for (let n = subnet.pool[0]; n <= subnet.pool[1] && ip === undefined; n++)
        if (!taken(n)) ip = n;
    if (ip === undefined) refuse(`No more IP addresses available on network ${network.id}.`);
    if (taken(ip))
      refuse(`IP address ${fmt(ip)} already allocated in subnet ${subnet.id} (HTTP 409)`);
    subnet.used.push(ip);
    fixed.push({ subnet_id: subnet.id, ip_address: fmt(ip) });
  }
  if (os.port[name]) refuse(`More than one port exists with the name '${name}'.`);
  os.port[name] = {
    id: randomUUID(),
    name,
    network_id: network.id,
    fixed_ips: fixed,
    allowed_address_pairs: [],
  };
  return { resource: 'port', action, name };
}

/**
 * Floating IPs: `floating ip create NET [--port P] [--description D]`, `floating ip list
 * [--port P]` (docs/upstream-facts.md#osc-floating-ip). Neutron associates a floating IP with
 * a port only when a router joins the port's subnet to the floating IP's network
 * (docs/upstream-facts.md#neutron.fip-router); the address comes from the external subnet's
 * allocation pool.
 */
function floatingIpCommand(os, rest, flags, columns) {
  const [what, action, networkName] = rest;
  if (what !== 'ip') refuse(`openstack floating ${what}: not in this double`, 2);
  const portOf = (ref) =>
    Object.values(os.port).find((p) => p.id === ref) ?? byName(os, 'port', ref);
  if (action === 'list') {
    const port = flags.has('port') ? portOf(flags.get('port')) : undefined;
    const rows = Object.values(os.floatingip).filter((f) => !port || f.port_id === port.id);
    const row = (f) => ({
      ID: f.id,
      'Floating IP Address': f.floating_ip_address,
      'Fixed IP Address': f.fixed_ip_address ?? 'None',
      Port: f.port_id ?? 'None',
      'Floating Network': f.floating_network_id,
    });
    for (const f of rows) columns(row(f));
    return { resource: 'floating ip', action };
  }
  if (action !== 'create') refuse(`openstack floating ip ${action}: not in this double`, 2);
  const network = byName(os, 'network', networkName);
  if (!network.external)
    refuse(`Bad floatingip request: Network ${network.id} is not a valid external network.`);
  const subnet = Object.values(os.subnet).find((s) => s.network_id === network.id);
  if (!subnet) refuse(`Bad floatingip request: Network ${network.id} has no subnet.`);
  let port;
  if (flags.has('port')) {
    port = portOf(flags.get('port'));
    const inner = port.fixed_ips[0];
    const routed = Object.values(os.router).some(
      (r) =>
        r.gateway?.network_id === network.id &&
        (r.interfaces ?? []).some((i) => i.subnet_id === inner?.subnet_id),
    );
    if (!inner || !routed)
      refuse(
        `External network ${network.id} is not reachable from subnet ${inner?.subnet_id}.  Therefore, cannot associate Port ${port.id} with a Floating IP. (HTTP 404)`,
      );
  }
  let ip;
  for (let n = subnet.pool[0]; n <= subnet.pool[1] && ip === undefined; n++)
    if (!subnet.used.includes(n)) ip = n;
  if (ip === undefined) refuse(`No more IP addresses available on network ${network.id}.`);
  subnet.used.push(ip);
  const fip = {
    id: randomUUID(),
    floating_ip_address: fmt(ip),
    floating_network_id: network.id,
    port_id: port?.id ?? null,
    fixed_ip_address: port?.fixed_ips[0]?.ip_address ?? null,
    description: flags.get('description') ?? '',
  };
  os.floatingip[fip.id] = fip;
  columns(fip);
  return { resource: 'floating ip', action, address: fip.floating_ip_address };
}
