/**
 * The wizard's discovery (`bmc:discover`, `bmc:accept-certificate`) through the core, against
 * two Redfish doubles (each backed by a QEMU machine that stays off: discovery only reads) and
 * a BMC address where nothing answers. The BMC password is asked like an SSH password
 * (`secret:needed` for host `bmc:<address>`) and answered with `secret:provide`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap, type EventPayload } from '../../src/api/index.js';
import { createCore, type Core } from '../../src/app/core.js';
import { loadPlanFile, validatePlan, type Plan } from '../../src/plan/index.js';
import { assetPath } from '../../src/util/assets.js';
import { RedfishDouble, SAMPLE_HARDWARE, makeCertificate } from '../doubles/redfish-double.js';

const LOGIN = { username: 'root', password: 'Wiz4rd-bmc-pw' };
let dir: string;
let a: RedfishDouble;
let b: RedfishDouble;
let core: Core;
let plan: Plan;
const asked: EventPayload<'secret:needed'>[] = [];
const progress: EventPayload<'bmc:discover-progress'>[] = [];
const passwords = new Map<string, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-bmc-wizard-'));
  const cert = await makeCertificate(dir);
  a = await RedfishDouble.start({ dir, host: '127.0.0.2', ...LOGIN, certificate: cert });
  b = await RedfishDouble.start({
    dir: await mkdtemp(join(dir, 'b-')),
    host: '127.0.0.3',
    port: a.port,
    ...LOGIN,
    certificate: cert,
  });
  // The sample plan with its BMC network on loopback: ctl-01 → a, ctl-02 → b, ctl-03 → an
  // address where nothing listens; the other servers have no BMC.
  const doc = parseDocument(await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8'));
  const nets = doc.get('networks') as {
    items: { get(k: string): unknown; set(k: string, v: unknown): void }[];
  };
  const bmcNet = nets.items.find((n) => n.get('name') === 'bmc')!;
  bmcNet.set('cidr', '127.0.0.0/24');
  bmcNet.set('gateway', '127.0.0.1');
  bmcNet.set('pool', doc.createNode({ start: '127.0.0.2', end: '127.0.0.200' }));
  const servers = (
    doc.get('servers') as {
      items: { setIn(p: string[], v: unknown): void; delete(k: string): void }[];
    }
  ).items;
  servers.forEach((s, i) => {
    if (i < 3) s.setIn(['bmc', 'address'], `127.0.0.${i + 2}`);
    else s.delete('bmc');
  });
  const file = join(dir, 'site.yaml');
  await writeFile(file, doc.toString());
  plan = (await loadPlanFile(file)).plan!;
  // No BMC login from this process's environment: the password is asked.
  core = createCore({ mode: 'test', stateDir: join(dir, 'state'), discovery: { env: {} } });
  core.client.on('bmc:discover-progress', (e) => progress.push(e));
  core.client.on('secret:needed', (e) => {
    asked.push(e);
    const host = e.ref.kind === 'password' ? e.ref.host : '';
    void core.client.secretProvide({
      ref: e.ref,
      value: passwords.get(host) ?? null,
      requestId: e.requestId,
    });
  });
}, 60_000);

afterAll(async () => {
  await core?.dispose();
  await a?.close();
  await b?.close();
  await rm(dir, { recursive: true, force: true });
});

const discover = async (hosts?: string[]) =>
  unwrap(
    await core.client.bmcDiscover({
      plan,
      user: 'root',
      port: a.port,
      ...(hosts ? { hosts } : {}),
    }),
  );

describe('bmc:discover in the wizard', () => {
  it('asks the password as bmc:<address>, and reports unknown certificates with their fingerprint', async () => {
    passwords.set('bmc:127.0.0.2', LOGIN.password);
    passwords.set('bmc:127.0.0.3', LOGIN.password);
    passwords.set('bmc:127.0.0.4', 'anything');
    const r = await discover();
    const by = Object.fromEntries(r.servers.map((s) => [s.hostname, s]));
    expect(by['ctl-01']).toMatchObject({
      status: 'certificate-unknown',
      address: '127.0.0.2',
      fingerprint: a.fingerprint,
      changes: [],
    });
    expect(by['ctl-02']!.status).toBe('certificate-unknown');
    expect(by['ctl-03']!.status).toBe('unreachable');
    expect(by['cmp-01']!.status).toBe('no-bmc');
    // Nothing was sent to a BMC whose certificate is unknown.
    expect(a.requests).toHaveLength(0);
    expect(asked.map((e) => e.ref)).toEqual(
      expect.arrayContaining([
        { kind: 'password', host: 'bmc:127.0.0.2', user: 'root' },
        { kind: 'password', host: 'bmc:127.0.0.4', user: 'root' },
      ]),
    );
    // Every server reported progress once; no password in any answer or event.
    expect(progress.map((p) => p.hostname).sort()).toEqual(
      plan.servers.map((s) => s.hostname).sort(),
    );
    expect(progress.at(-1)!.done).toBe(plan.servers.length);
    expect(JSON.stringify([r, asked, progress])).not.toContain(LOGIN.password);
  });

  it('pins an accepted certificate in the bmc_certificates file the CLI reads', async () => {
    unwrap(
      await core.client.bmcAcceptCertificate({
        address: '127.0.0.2',
        port: a.port,
        fingerprint: a.fingerprint.toLowerCase(),
      }),
    );
    // ctl-02's pin is another certificate's: its BMC now offers a changed one.
    unwrap(
      await core.client.bmcAcceptCertificate({
        address: '127.0.0.3',
        port: a.port,
        fingerprint: Array.from({ length: 32 }, () => 'AB').join(':'),
      }),
    );
    const pins = await readFile(join(dir, 'state', 'bmc_certificates'), 'utf8');
    expect(pins).toContain(`[127.0.0.2]:${a.port} sha256 ${a.fingerprint}\n`);
    const bad = await core.client.bmcAcceptCertificate({
      address: '127.0.0.2',
      fingerprint: 'not-one',
    });
    expect(bad.ok).toBe(false);
  });

  it('reads the pinned BMC: the changes, the proposed server, and the findings with them', async () => {
    asked.length = 0;
    const r = await discover();
    const by = Object.fromEntries(r.servers.map((s) => [s.hostname, s]));
    const ctl01 = by['ctl-01']!;
    expect(ctl01.status).toBe('read');
    expect(ctl01.changes).toEqual(
      expect.arrayContaining([
        {
          field: 'cpu',
          kind: 'changed',
          text: `2 × 24 cores × 2 threads (Intel Xeon Gold 6336Y) → 2 × 32 cores × 2 threads (${SAMPLE_HARDWARE.cpus[0]!.model})`,
        },
        { field: 'memoryGiB', kind: 'changed', text: '256 → 512' },
        {
          field: 'nics[0]',
          kind: 'changed',
          text: 'eno1: mac b0:7b:25:1a:00:01 → 0a:1b:2c:3d:4e:01, speed 10 → 25 Gbit/s',
        },
        {
          field: 'nics[2]',
          kind: 'kept',
          text: 'ens1f1 b0:7b:25:12:00:01: not reported by the BMC (kept)',
        },
      ]),
    );
    expect(ctl01.proposed!.memoryGiB).toBe(512);
    expect(ctl01.proposed!.disks.map((d) => [d.device, d.type, d.use])).toEqual([
      ['/dev/sda', 'ssd', 'os'],
      ['/dev/sdb', 'nvme', 'os'],
      ['/dev/sdc', 'hdd', 'none'],
    ]);
    expect(by['ctl-02']!.status).toBe('certificate-changed');
    expect(by['ctl-02']!.fingerprint).toBeUndefined();
    expect(by['ctl-02']!.message).toContain('has changed');
    // The password was remembered for the session: not asked again.
    expect(
      asked.filter((e) => e.ref.kind === 'password' && e.ref.host === 'bmc:127.0.0.2'),
    ).toEqual([]);
    // The findings are those of the plan with every proposed change.
    const withAll = {
      ...plan,
      servers: plan.servers.map((s) => (s.hostname === 'ctl-01' ? ctl01.proposed! : s)),
    };
    expect(r.findings).toEqual(JSON.parse(JSON.stringify(validatePlan(withAll))));
    expect(a.sessions.size).toBe(0);
  });

  it('reports a refused login, and reads only the servers asked for', async () => {
    unwrap(
      await core.client.secretProvide({
        ref: { kind: 'password', host: 'bmc:127.0.0.2', user: 'root' },
        value: 'wrong-password',
      }),
    );
    const r = await discover(['ctl-01']);
    expect(r.servers.map((s) => [s.hostname, s.status])).toEqual([['ctl-01', 'login-refused']]);
    expect(r.servers[0]!.message).toContain('refused the login of root');
    const unknown = await core.client.bmcDiscover({ plan, hosts: ['nope-9'], port: a.port });
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.error.message).toContain('nope-9');
  });
});
