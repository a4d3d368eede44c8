import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { bufferOutput } from '../../../src/cli/output.js';
import { assetPath } from '../../../src/util/assets.js';

const DEMO = assetPath('samples', 'demo-stuttgart.yaml');

let dir: string;
let demoText: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-validate-'));
  demoText = await readFile(DEMO, 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface JsonReport {
  file: string;
  valid: boolean;
  errors: number;
  warnings: number;
  findings: Array<{
    severity: string;
    rule: string;
    family?: string;
    path: string;
    message: string;
    hint: string;
    line?: number;
    acknowledged?: { reason: string };
  }>;
}

async function validate(file: string, json = true) {
  const out = bufferOutput();
  const code = await main(['node', 'ustart', 'validate', file, ...(json ? ['--json'] : [])], out);
  return { code, out };
}

/** Writes the demo plan with each [from, to] replacement applied (each must match). */
async function brokenDemo(name: string, edits: Array<[string | RegExp, string]>): Promise<string> {
  let text = demoText;
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`edit ${String(from)} did not match the demo plan`);
    text = next;
  }
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  return file;
}

describe('ustart validate', () => {
  it('exits 0 for the demo plan and prints the JSON report', async () => {
    const { code, out } = await validate(DEMO);
    expect(code).toBe(0);
    const report = JSON.parse(out.out) as JsonReport;
    expect(report).toEqual({ file: DEMO, valid: true, errors: 0, warnings: 0, findings: [] });
  });

  it('prints a readable summary without --json', async () => {
    const file = await brokenDemo('human', [['hostname: ctl-02', 'hostname: ctl-01']]);
    const { code, out } = await validate(file, false);
    expect(code).toBe(1);
    expect(out.out).toMatch(
      /error\s+hostname-unique \/servers\/1\/hostname\s+.*human\.yaml:\d+:\d+/,
    );
    expect(out.out).toMatch(/1 error, 0 warnings/);
  });

  // One broken plan per rule family that has errors: the exit code, rule and path are
  // what a CI job or a consultant's script relies on.
  it.each<[string, string, string, Array<[string | RegExp, string]>]>([
    [
      'site',
      'ntp-missing',
      '/site/ntp',
      [[/ntp:\n\s+- 10\.10\.0\.2\n\s+- 10\.10\.0\.3/, 'ntp: []']],
    ],
    [
      'networks',
      'network-overlap',
      '/networks/4/cidr',
      [['cidr: 10.30.0.0/22', 'cidr: 10.20.0.0/16']],
    ],
    [
      'addresses',
      'address-unique',
      '/servers/1/addresses/mgmt',
      [['mgmt: 10.10.0.12', 'mgmt: 10.10.0.11']],
    ],
    // ctl-03 (R03, U40) moved into R01, onto ctl-01's unit.
    ['racks', 'rack-unit-overlap', '/servers/2/position', [['rack: R03', 'rack: R01']]],
    [
      'servers',
      'mac-unique',
      '/servers/1/nics/0/mac',
      [['mac: b0:7b:25:1a:00:02', 'mac: B0:7B:25:1A:00:01']],
    ],
    ['roles', 'controller-count-min', '/servers', [[/- controller/g, '- compute']]],
    ['storage', 'storage-osd-missing', '/servers/7/disks', [[/use: ceph-osd/g, 'use: data']]],
    [
      'kubernetes',
      'k8s-pod-cidr-overlap',
      '/kubernetes/podCidr',
      [['podCidr: 10.244.0.0/16', 'podCidr: 10.10.0.0/16']],
    ],
    [
      'openstack',
      'openstack-public-vip-network',
      '/openstack/publicVip',
      [['publicVip: 203.0.113.5', 'publicVip: 10.20.0.5']],
    ],
    ['access', 'access-user-format', '/access/user', [['  user: ubuntu', '  user: Admin User']]],
    [
      'air-gap',
      'airgap-ntp-internal',
      '/site/ntp/0',
      [
        ['airGapped: false', 'airGapped: true'],
        [/ntp:\n(\s+)- 10\.10\.0\.2/, 'ntp:\n$1- pool.ntp.org'],
      ],
    ],
    ['schema', 'schema-type', '/servers/0/memoryGiB', [['memoryGiB: 256', 'memoryGiB: "256 GB"']]],
  ])('exits 1 for a broken %s family with rule %s at %s', async (family, rule, path, edits) => {
    const file = await brokenDemo(family, edits);
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    const report = JSON.parse(out.out) as JsonReport;
    expect(report).toMatchObject({ file, valid: false });
    expect(report.errors).toBeGreaterThan(0);
    expect(typeof report.warnings).toBe('number');
    const hit = report.findings.find((f) => f.rule === rule && f.path === path);
    expect(hit, JSON.stringify(report.findings.map((f) => [f.rule, f.path]))).toMatchObject({
      severity: 'error',
      message: expect.any(String),
      hint: expect.any(String),
      line: expect.any(Number),
    });
    // The rule's family; schema findings come from no rule and have none.
    expect(hit!.family).toBe(family === 'schema' ? undefined : family);
    for (const f of report.findings) {
      expect(Object.keys(f)).toEqual(
        expect.arrayContaining(['severity', 'rule', 'path', 'message', 'hint']),
      );
    }
  });

  it('exits 0 with acknowledged warnings listed but not counted', async () => {
    const file = await brokenDemo('acked', [
      ['environment: poc', 'environment: production'],
      [
        'access:\n  user: ubuntu\n',
        'access:\n  user: ubuntu\nacknowledgements:\n  - rule: os-disk-mirror\n    reason: compute nodes are reinstalled, not repaired\n  - rule: ntp-count\n    reason: the customer runs two NTP servers\n',
      ],
    ]);
    const { code, out } = await validate(file);
    expect(code).toBe(0);
    const report = JSON.parse(out.out) as JsonReport;
    expect(report.warnings).toBe(0);
    const mirrors = report.findings.filter((f) => f.rule === 'os-disk-mirror');
    expect(mirrors).toHaveLength(4);
    for (const f of mirrors) expect(f.acknowledged?.reason).toMatch(/reinstalled/);
  });

  it('exits 2 for malformed YAML, naming the file, line and column', async () => {
    const file = join(dir, 'malformed.yaml');
    await writeFile(file, 'schemaVersion: 1\nsite: [unclosed\n');
    const { code, out } = await validate(file);
    expect(code).toBe(2);
    expect(out.out).toBe('');
    expect(out.err).toMatch(/malformed\.yaml:\d+:\d+: /);
  });

  it('exits 2 for a file that does not exist or cannot be read', async () => {
    const missing = await validate(join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.out.err).toMatch(/nope\.yaml does not exist/);
    const binary = join(dir, 'image.yaml');
    await writeFile(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1]));
    const bin = await validate(binary);
    expect(bin.code).toBe(2);
    expect(bin.out.err).toMatch(/image\.yaml is a binary file/);
    const folder = await validate(dir);
    expect(folder.code).toBe(2);
    expect(folder.out.err).toMatch(/is a directory/);
  });
});
