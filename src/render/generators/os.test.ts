/**
 * The hosts block with the OpenStack endpoint names: rendered from the plan, and written by
 * the real umetal.hostname script with lib.sh into an /etc/hosts that glibc then reads
 * (root only: the file is bind-mounted over /etc/hosts in a private mount namespace).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../plan/load.js';
import type { Plan } from '../../plan/schema.js';
import { defaultRunbookDir, loadRunbook, type Runbook } from '../../runbook/load.js';
import { assetPath } from '../../util/assets.js';
import { hostEnvFile } from '../host-env.js';
import { Renderer } from '../render.js';
import { GENERATOR_NAMES } from './index.js';
import { hostsBlock } from './os.js';

const run = promisify(execFile);
const D = 'cloud.musterbau.example';
const NAMES = ['keystone', 'glance', 'nova', 'placement', 'novnc', 'neutron', 'cinder', 'horizon'];
const ENDPOINT_LINES = NAMES.map((n) => `203.0.113.5\t${n}.${D}`);

let demo: Plan;
let runbook: Runbook;
beforeAll(async () => {
  demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  runbook = await loadRunbook([defaultRunbookDir()], { generators: GENERATOR_NAMES });
});

function variant(environment: 'poc' | 'production', mode?: 'site-dns' | 'hosts-file'): Plan {
  const plan = structuredClone(demo);
  plan.site.environment = environment;
  if (mode) plan.openstack.endpointDns = mode;
  return plan;
}

async function contextOf(plan: Plan, host = 'cmp-03') {
  const renderer = await Renderer.create(plan, runbook);
  return renderer.context(plan.servers.find((s) => s.hostname === host)!);
}

describe('hosts-block', () => {
  it('maps every endpoint name to the public VIP with hosts-file, after the hosts and the API', async () => {
    const lines = hostsBlock(await contextOf(variant('production', 'hosts-file'))).split('\n');
    expect(lines.slice(0, 2)).toEqual([
      `10.10.0.11\tctl-01.${D}\tctl-01`,
      `10.10.0.12\tctl-02.${D}\tctl-02`,
    ]);
    expect(lines.slice(-10)).toEqual([`10.10.0.5\tapi.${D}`, ...ENDPOINT_LINES, '']);
  });

  it('leaves the endpoint names to the DNS with site-dns', async () => {
    const text = hostsBlock(await contextOf(variant('poc', 'site-dns')));
    expect(text).toContain(`api.${D}`);
    for (const n of NAMES) expect(text).not.toContain(`${n}.${D}`);
  });

  it('follows the environment when endpointDns is absent: a PoC gets the names, production not', async () => {
    expect(hostsBlock(await contextOf(variant('poc')))).toContain(ENDPOINT_LINES.join('\n'));
    expect(hostsBlock(await contextOf(variant('production')))).not.toContain('keystone.');
  });

  it('is the same block on every server', async () => {
    const plan = variant('poc');
    const blocks = await Promise.all(
      plan.servers.map(async (s) => hostsBlock(await contextOf(plan, s.hostname))),
    );
    expect(new Set(blocks).size).toBe(1);
  });
});

const canNamespace = process.getuid?.() === 0 && existsSync('/usr/bin/unshare');

describe.skipIf(!canNamespace)('umetal.hostname writes the block into /etc/hosts', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-hosts-block-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** Lays out ctl-01's files for umetal.hostname from `plan` as the engine leaves them. */
  async function stage(plan: Plan): Promise<string> {
    const ctx = await contextOf(plan, 'ctl-01');
    const host = join(tmp, 'root', 'hosts', 'ctl-01');
    const step = join(host, 'steps', 'umetal.hostname');
    await mkdir(join(step, 'files', 'etc', 'ustart'), { recursive: true });
    await writeFile(join(host, 'env'), hostEnvFile(ctx));
    await writeFile(join(step, 'files', 'etc', 'ustart', 'hosts.block'), hostsBlock(ctx));
    const scripts = join(defaultRunbookDir(), 'scripts');
    const script = join(step, 'hostname.sh');
    const text = await readFile(join(scripts, 'umetal', 'hostname.sh'), 'utf8');
    await copyFile(join(scripts, 'lib.sh'), join(tmp, 'lib.sh'));
    await writeFile(
      script,
      text.replace('. /var/lib/ustart/lib.sh', `. ${JSON.stringify(join(tmp, 'lib.sh'))}`),
    );
    await chmod(script, 0o755);
    return script;
  }

  /**
   * Runs the step twice in a private mount and UTS namespace, with `hosts` bind-mounted over
   * /etc/hosts (the host name set beforehand, so the script leaves it alone), then asks glibc
   * for keystone's address as every program on the server would.
   */
  async function hostnameStep(script: string, hosts: string) {
    const { stdout } = await run(
      'unshare',
      [
        '--mount',
        '--uts',
        '--propagation',
        'private',
        'bash',
        '-c',
        [
          'set -euo pipefail',
          'mount --bind "$1" /etc/hosts',
          'hostname ctl-01',
          '"$2"',
          '"$2"',
          `getent ahostsv4 keystone.${D} | awk '{ print $1 }' | sort -u || echo unresolved`,
        ].join('\n'),
        '_',
        hosts,
        script,
      ],
      { env: { ...process.env, USTART_ROOT: join(tmp, 'root') }, timeout: 30_000 },
    );
    return stdout;
  }

  it('adds the endpoint names with hosts-file, keeps the user’s lines, is idempotent, and takes them out with site-dns', async () => {
    const hosts = join(tmp, 'hosts');
    const mine = '127.0.0.1\tlocalhost\n192.0.2.10\tprinter.example # the customer’s\n';
    await writeFile(hosts, mine);

    const first = await hostnameStep(await stage(variant('poc', 'hosts-file')), hosts);
    expect(first).toContain('wrote the planned hosts into /etc/hosts');
    expect(first).toContain('/etc/hosts already lists the planned hosts');
    expect(first.trim().split('\n').at(-1)).toBe('203.0.113.5');
    const written = await readFile(hosts, 'utf8');
    expect(written.startsWith(mine)).toBe(true);
    expect(written).toContain(
      `# BEGIN uStart planned hosts\n${(await readFile(join(tmp, 'root', 'hosts', 'ctl-01', 'steps', 'umetal.hostname', 'files', 'etc', 'ustart', 'hosts.block'), 'utf8')).trimEnd()}\n# END uStart planned hosts\n`,
    );
    for (const line of ENDPOINT_LINES) expect(written).toContain(`${line}\n`);

    const second = await hostnameStep(await stage(variant('poc', 'site-dns')), hosts);
    const after = await readFile(hosts, 'utf8');
    expect(after.startsWith(mine)).toBe(true);
    expect(after).toContain(`api.${D}`);
    expect(after).not.toContain(`keystone.${D}`);
    expect(second.trim().split('\n').at(-1)).not.toBe('203.0.113.5');
  });
});
