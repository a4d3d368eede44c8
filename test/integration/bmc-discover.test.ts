/**
 * `ustart discover` against two Redfish doubles (each backed by a QEMU machine that stays off
 * here: discovery only reads) and a BMC address where nothing answers.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../src/plan/index.js';
import { assetPath } from '../../src/util/assets.js';
import {
  RedfishDouble,
  SAMPLE_HARDWARE,
  makeCertificate,
  type Hardware,
} from '../doubles/redfish-double.js';
import { runCli } from '../support/run-cli.js';

const LOGIN = { username: 'root', password: 'Disc0very-pw' };
let dir: string;
let file: string;
let a: RedfishDouble;
let b: RedfishDouble;
const env: Record<string, string | undefined> = {};

/** ctl-02 as the plan has it, NICs in another order (matched by MAC, not position). */
const CTL02: Hardware = {
  manufacturer: 'Dell',
  model: 'PowerEdge R650',
  serialNumber: 'R650-0002',
  cpus: [
    { model: 'Intel Xeon Gold 6336Y', cores: 24, threads: 48 },
    { model: 'Intel Xeon Gold 6336Y', cores: 24, threads: 48 },
  ],
  dimmsMiB: Array.from({ length: 8 }, () => 32768),
  nics: [
    { id: 'NIC.Slot.1-2', mac: 'B0:7B:25:12:00:02', speedMbps: 25000 },
    { id: 'NIC.Slot.1-1', mac: 'B0:7B:25:1B:00:02', speedMbps: 25000 },
    { id: 'NIC.Embedded.1', mac: 'B0:7B:25:1A:00:02', speedMbps: 10000 },
  ],
  drives: [
    { id: 'Disk.0', capacityBytes: 480e9, mediaType: 'SSD', protocol: 'SATA' },
    { id: 'Disk.1', capacityBytes: 480e9, mediaType: 'SSD', protocol: 'SATA' },
  ],
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-bmc-discover-'));
  const cert = await makeCertificate(dir);
  a = await RedfishDouble.start({ dir, host: '127.0.0.2', ...LOGIN, certificate: cert });
  b = await RedfishDouble.start({
    dir: await mkdtemp(join(dir, 'b-')),
    host: '127.0.0.3',
    port: a.port,
    ...LOGIN,
    hardware: CTL02,
    certificate: cert,
  });
  for (const k of ['USTART_BMC_USERNAME', 'USTART_BMC_PASSWORD', 'XDG_CONFIG_HOME'])
    env[k] = process.env[k];
  process.env.USTART_BMC_USERNAME = LOGIN.username;
  process.env.USTART_BMC_PASSWORD = LOGIN.password;
  process.env.XDG_CONFIG_HOME = join(dir, 'config');
}, 60_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await a?.close();
  await b?.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  // The sample plan with its BMC network on loopback: ctl-01 → double a, ctl-02 → double b,
  // ctl-03 → an address where nothing listens; the other servers have no BMC.
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
      items: {
        getIn(p: string[]): unknown;
        setIn(p: string[], v: unknown): void;
        delete(k: string): void;
      }[];
    }
  ).items;
  servers.forEach((s, i) => {
    if (i < 3) s.setIn(['bmc', 'address'], `127.0.0.${i + 2}`);
    else s.delete('bmc');
  });
  doc.commentBefore = ' site plan kept by the consultant';
  file = join(dir, 'site.yaml');
  await writeFile(file, doc.toString());
  const base = await runCli('validate', file);
  expect(base.code, base.out + base.err).toBe(0);
});

afterEach(async () => {
  await rm(`${file}.bak`, { force: true });
});

describe('ustart discover', () => {
  it('refuses an unknown BMC certificate, showing its fingerprint, until it is accepted', async () => {
    const r = await runCli('discover', file, '--bmc-port', String(a.port));
    expect(r.code).toBe(1);
    expect(r.out).toContain('ctl-01 (BMC 127.0.0.2): BMC certificate not trusted');
    expect(r.out).toContain(`sha256 ${a.fingerprint}`);
    expect(a.requests).toHaveLength(0);
  });

  it('shows a diff per server, reports the BMC that did not answer, validates, and writes nothing', async () => {
    const before = await readFile(file, 'utf8');
    const r = await runCli(
      'discover',
      file,
      '--bmc-port',
      String(a.port),
      '--accept-new-bmc-certificates',
    );
    expect(r.out).toContain('ctl-01 (BMC 127.0.0.2): ');
    expect(r.out).toContain(
      '~ cpu: 2 × 24 cores × 2 threads (Intel Xeon Gold 6336Y) → 2 × 32 cores × 2 threads (Contoso C9 32-core)',
    );
    expect(r.out).toContain('~ memoryGiB: 256 → 512');
    expect(r.out).toContain(
      '~ nics[0]: eno1: mac b0:7b:25:1a:00:01 → 0a:1b:2c:3d:4e:01, speed 10 → 25 Gbit/s',
    );
    expect(r.out).toContain('= nics[2]: ens1f1 b0:7b:25:12:00:01: not reported by the BMC (kept)');
    expect(r.out).toContain('~ disks[1]: /dev/sdb: 480 → 3840.8 GB, ssd → nvme');
    expect(r.out).toContain('+ disks[2]: /dev/sdc 8001.6 GB hdd');
    expect(r.out).toContain('ctl-02 (BMC 127.0.0.3): as planned');
    expect(r.out).toContain('ctl-03 (BMC 127.0.0.4): the BMC did not answer');
    expect(r.out).toContain('BMCs that did not answer: ctl-03 (127.0.0.4)');
    expect(r.out).toContain('validation of the plan with every proposed change:');
    expect(r.out).toContain('dry run');
    expect(r.code).toBe(1); // a BMC did not answer
    expect(await readFile(file, 'utf8')).toBe(before);
    // Sessions were closed.
    expect(a.sessions.size).toBe(0);
    expect(b.sessions.size).toBe(0);
  });

  // The certificate pinned by the test before (--accept-new-bmc-certificates) is used from here on.
  it('--json gives the same per server', async () => {
    const r = await runCli('discover', file, '--bmc-port', String(a.port), '--json');
    const j = JSON.parse(r.out) as {
      written: boolean;
      servers: { hostname: string; status: string; changes: { field: string; kind: string }[] }[];
    };
    expect(j.written).toBe(false);
    const byHost = Object.fromEntries(j.servers.map((s) => [s.hostname, s]));
    expect(byHost['ctl-01']!.status).toBe('read');
    expect(byHost['ctl-01']!.changes.map((c) => `${c.kind} ${c.field}`)).toEqual(
      expect.arrayContaining([
        'changed cpu',
        'changed memoryGiB',
        'changed nics[0]',
        'changed nics[1]',
        'kept nics[2]',
        'added disks[2]',
      ]),
    );
    expect(byHost['ctl-02']!.changes).toEqual([]);
    expect(byHost['ctl-03']!.status).toBe('unanswered');
    expect(byHost['cmp-01']!.status).toBe('no-bmc');
  });

  it('--accept writes the accepted server only, keeping comments, and the result validates', async () => {
    const r = await runCli('discover', file, '--bmc-port', String(a.port), '--accept', 'ctl-01');
    expect(r.out).toContain('saved');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# site plan kept by the consultant');
    const parsed = await loadPlanFile(file);
    const ctl01 = parsed.plan!.servers.find((s) => s.hostname === 'ctl-01')!;
    expect(ctl01.cpu).toEqual({
      sockets: 2,
      cores: 32,
      threads: 2,
      model: SAMPLE_HARDWARE.cpus[0]!.model,
    });
    expect(ctl01.memoryGiB).toBe(512);
    expect(ctl01.nics.map((n) => [n.name, n.mac, n.network])).toEqual([
      ['eno1', '0a:1b:2c:3d:4e:01', 'mgmt'],
      ['ens1f0', '0a:1b:2c:3d:4e:02', 'storage'],
      ['ens1f1', 'b0:7b:25:12:00:01', 'provider'],
    ]);
    expect(ctl01.disks.map((d) => [d.device, d.sizeGB, d.type, d.use])).toEqual([
      ['/dev/sda', 480.1, 'ssd', 'os'],
      ['/dev/sdb', 3840.8, 'nvme', 'os'],
      ['/dev/sdc', 8001.6, 'hdd', 'none'],
    ]);
    const ctl02 = parsed.plan!.servers.find((s) => s.hostname === 'ctl-02')!;
    expect(ctl02.bmc?.address).toBe('127.0.0.3');
    const v = await runCli('validate', file);
    expect(r.out).toContain('validation of the plan with the accepted changes:');
    expect(v.out + v.err).not.toMatch(/\berror\b.*mac-unique/);
  });

  it('refuses to write changes that add validation errors, and prints them', async () => {
    // ctl-01's BMC reports ctl-02's MAC: accepting would give two servers one MAC.
    const c = await RedfishDouble.start({
      dir: await mkdtemp(join(dir, 'c-')),
      host: '127.0.0.5',
      port: a.port,
      ...LOGIN,
      hardware: {
        ...SAMPLE_HARDWARE,
        nics: [{ id: 'NIC1', mac: 'B0:7B:25:1A:00:02', speedMbps: 10000 }],
      },
      certificate: { key: join(dir, 'bmc-key.pem'), cert: join(dir, 'bmc-cert.pem') },
    });
    try {
      const doc = parseDocument(await readFile(file, 'utf8'));
      doc.setIn(['servers', 0, 'bmc', 'address'], '127.0.0.5');
      await writeFile(file, doc.toString());
      const before = await readFile(file, 'utf8');
      const r = await runCli(
        'discover',
        file,
        '--bmc-port',
        String(a.port),
        '--accept',
        'ctl-01',
        '--accept-new-bmc-certificates',
      );
      expect(r.out).toContain('nothing was written: the accepted changes add');
      expect(r.out).toContain('mac-unique');
      expect(r.code).toBe(1);
      expect(await readFile(file, 'utf8')).toBe(before);
    } finally {
      await c.close();
    }
  });
});
