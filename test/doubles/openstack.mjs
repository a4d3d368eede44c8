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
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { find, load, secretData, view } from './cluster.mjs';
import { at, parseFlags, readState, refuse, runDouble, writeState } from './lib.mjs';

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
];
const RESOURCES = {
  network: 'neutron',
  subnet: 'neutron',
  image: 'glance',
  flavor: 'nova',
  server: 'nova',
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
  const body = (pem) => pem?.replace(/-----[^-]+-----|\s/g, '');
  if (cloud.cacert !== undefined) {
    if (!existsSync(cloud.cacert)) refuse(`cacert ${cloud.cacert}: No such file or directory`);
    if (body(readFileSync(cloud.cacert, 'utf8')) !== body(ca))
      refuse(`${cloud.cacert} is not the site's root CA: SSL: CERTIFICATE_VERIFY_FAILED`);
  } else {
    const store = at('/etc/ssl/certs/ca-certificates.crt');
    const trusted = existsSync(store) && body(readFileSync(store, 'utf8')).includes(body(ca));
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
  for (const k of ['network', 'subnet', 'image', 'flavor', 'server', 'credentials']) os[k] ??= {};
  const columns = (row) => {
    const wanted = [flags.get('c')].flat();
    const all = argv.flatMap((a, i) => (a === '-c' || a === '--column' ? [argv[i + 1]] : []));
    process.stdout.write((all.length ? all : wanted).map((c) => `${row[c]}\n`).join(''));
  };
  let seen;
  if (rest[0] === 'application' && rest[1] === 'credential' && rest[2] === 'create') {
    const id = randomBytes(16).toString('hex');
    const secret = randomBytes(24).toString('base64url');
    os.credentials[id] = { name: rest[3], secret };
    columns({ id, secret, name: rest[3] });
    seen = { credential: rest[3] };
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
