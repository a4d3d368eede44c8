/**
 * The public side of uStack as a test double: kube-vip's address and ingress-nginx with
 * cert-manager's certificates, in one process a test starts inside the first controller's
 * namespaces (it owns and ends it). It answers HTTPS on port 443 only
 *
 * - on the address the Service ingress-nginx/openstack-public asks kube-vip for,
 * - for a host name a Yaook resource publishes (Keystone's and Horizon's ingress fqdn) whose
 *   operator runs, with a certificate the site's root CA (Secret yaook/root-ca) signs,
 *
 * reading the shared cluster state (cluster.mjs's objects.json) at every connection. Each
 * request is recorded in calls.jsonl as tool "ingress". Prints "listening" once it listens.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DIR, readState } from './lib.mjs';

const work = join(DIR, 'ingress');
mkdirSync(work, { recursive: true, mode: 0o700 });

function published(servername) {
  const objects = readState('objects.json', {});
  const helm = readState('helm.json', {});
  const svc = objects['Service/ingress-nginx/openstack-public'];
  const vip = svc?.metadata?.annotations?.['kube-vip.io/loadbalancerIPs'];
  if (!vip || !helm['ingress-nginx/ingress-nginx']) return undefined;
  for (const o of Object.values(objects)) {
    if (o.apiVersion !== 'yaook.cloud/v1') continue;
    // Every ingress of the resource: its API's, Horizon's, Nova's Placement and VNC proxy.
    const fqdns = [
      o.spec?.api,
      o.spec?.ingress ? o.spec : undefined,
      o.spec?.placement,
      o.spec?.vnc,
    ]
      .map((part) => part?.ingress?.fqdn)
      .filter(Boolean);
    const operator = `yaook/yaook-${o.kind.replace(/Deployment$/, '').toLowerCase()}`;
    if (fqdns.includes(servername) && helm[operator]) {
      const ca = objects['Secret/yaook/root-ca'];
      if (!ca) return undefined;
      return { vip, ca, service: o.metadata.name };
    }
  }
  return undefined;
}

function certificate(servername, ca) {
  const file = (n) => join(work, `${servername}.${n}`);
  writeFileSync(file('ca.crt'), Buffer.from(ca.data['tls.crt'], 'base64'), { mode: 0o600 });
  writeFileSync(file('ca.key'), Buffer.from(ca.data['tls.key'], 'base64'), { mode: 0o600 });
  writeFileSync(file('ext'), `subjectAltName=DNS:${servername}\n`);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${servername}`,
    '-keyout',
    file('key'),
    '-out',
    file('csr'),
  );
  openssl(
    'x509',
    '-req',
    '-in',
    file('csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('ext'),
    '-out',
    file('crt'),
  );
  return createSecureContext({ key: readFileSync(file('key')), cert: readFileSync(file('crt')) });
}

function record(line) {
  appendFileSync(
    join(DIR, 'calls.jsonl'),
    JSON.stringify({
      timeNs: process.hrtime.bigint().toString(),
      clockNs: (BigInt(Date.now()) * 1_000_000n).toString(),
      host: hostname(),
      tool: 'ingress',
      ...line,
    }) + '\n',
  );
}

const server = createServer(
  {
    SNICallback(servername, done) {
      const p = published(servername);
      if (!p) return done(new Error(`nothing publishes ${servername}`));
      try {
        done(null, certificate(servername, p.ca));
      } catch (e) {
        done(e);
      }
    },
  },
  (req, res) => {
    const p = published(req.socket.servername);
    const local = req.socket.localAddress?.replace(/^::ffff:/, '');
    const ok = p !== undefined && local === p.vip;
    record({
      argv: [req.method, `https://${req.socket.servername}${req.url}`],
      ok,
      seen: { address: local, service: p?.service },
    });
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(ok ? JSON.stringify({ service: p.service }) : '{"error":"no backend"}');
  },
);
server.listen(443, '0.0.0.0', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
