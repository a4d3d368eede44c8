/**
 * The log bundle over a run folder the engine really wrote (LocalTransport runs `bash -c`
 * locally), with host logs collected through the same local transport: test doubles of
 * `journalctl` and `dmesg` on PATH print fixtures full of secrets. The SSH path is covered
 * by test/integration/log-bundle-lab.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { RunEngine } from '../engine/index.js';
import { isUstartError, UstartError } from '../errors.js';
import type { HostConnection, HostTarget, Transport } from '../ssh/transport.js';
import { LocalTransport } from '../../test/support/local-transport.js';
import { recordEvents } from '../../test/support/engine-events.js';
import { assetPath } from '../util/assets.js';
import {
  collectLogBundle,
  createLogBundle,
  parseSince,
  type LogBundleManifest,
  type LogBundleProgress,
} from './index.js';

const KNOWN = 'known-secret-5a1f9c';
const TOKEN = 'abcdef.0123456789abcdef';
const CA_HASH = 'sha256:7c2e4bd2a5c5d6a1c8fd3e3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a39';
/** Secrets that must not survive anywhere in a bundle. */
const SECRETS = [
  KNOWN,
  TOKEN,
  'journal-pw-77',
  'dmesg-pw-88',
  'os-pw-99',
  'facts-pw-11',
  'cert-key-0f1e2d3c4b5a6978',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
];

const JOURNALCTL = `#!/bin/sh
# Test double of journalctl: prints a fixture as journald would, with the unit and --since
# it was asked for. BLOCK_HOST makes it hang on that host (a host that does not answer).
unit=; since=
while [ $# -gt 0 ]; do
  case $1 in -u) unit=$2; shift ;; --since) since=$2; shift ;; esac
  shift
done
[ "$HOST" = "$BLOCK_HOST" ] && exec sleep 987654
echo "2026-11-27T16:00:00+0000 $HOST $unit[42]: Started $unit (since $since)"
echo "2026-11-27T16:00:01+0000 $HOST $unit[42]: kubeadm join api:6443 --token ${TOKEN} --discovery-token-ca-cert-hash ${CA_HASH}"
echo "2026-11-27T16:00:02+0000 $HOST $unit[42]: config password: journal-pw-77, sudo ${KNOWN}"
`;

const DMESG = `#!/bin/sh
# Test double of dmesg: a kernel line with a secret in it.
echo "2026-11-27T15:59:00+0000 overlay: mounted; cmdline rootpw=x password=dmesg-pw-88"
`;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-logbundle-test-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function script(dir: string, name: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), text);
  await chmod(join(dir, name), 0o755);
}

/** A PATH folder with just the tools the collection scripts use, and no journalctl. */
async function bareToolbox(dir: string, fakes: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const tool of ['bash', 'sh', 'cat', 'find', 'head', 'tail', 'id', 'sleep']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    await symlink(found, join(dir, tool));
  }
  await symlink(join(fakes, 'dmesg'), join(dir, 'dmesg'));
  return dir;
}

/**
 * Hosts h1…h3 over local processes: h1 has the doubles on PATH, h2 has no journalctl, h3
 * refuses the login (as sshd would on a wrong key).
 */
class LabLikeTransport implements Transport {
  constructor(
    private readonly withTools: LocalTransport,
    private readonly withoutJournal: LocalTransport,
  ) {}

  connect(target: HostTarget): Promise<HostConnection> {
    if (target.name === 'h3') {
      return Promise.reject(
        new UstartError('AuthFailed', `root@${target.name}: no key or password was accepted`),
      );
    }
    return (target.name === 'h2' ? this.withoutJournal : this.withTools).connect(target);
  }

  async dispose(): Promise<void> {
    await this.withTools.dispose();
    await this.withoutJournal.dispose();
  }
}

interface Fixture {
  dir: string;
  runsDir: string;
  runId: string;
  runDir: string;
  hosts: Map<string, HostTarget>;
  transport: LabLikeTransport;
  logDir: string;
}

/** Runs a small graph through the engine, whose steps print secrets the engine does not know. */
async function fixture(
  env: Record<string, string> = {},
  hostNames = ['h1', 'h2', 'h3'],
  planText = `schemaVersion: 1\n# join: kubeadm join --token ${TOKEN} --certificate-key cert-key-0f1e2d3c4b5a6978\n`,
): Promise<Fixture> {
  const dir = await tempDir();
  const fakes = join(dir, 'fakes');
  await script(fakes, 'journalctl', JOURNALCTL);
  await script(fakes, 'dmesg', DMESG);
  const bare = await bareToolbox(join(dir, 'bare'), fakes);
  const logDir = join(dir, 'var-log-ustart');
  await mkdir(join(logDir, 'umetal'), { recursive: true });
  await writeFile(join(logDir, 'install.log'), "export OS_PASSWORD='os-pw-99'\nall good\n");
  await writeFile(
    join(logDir, 'umetal', 'key.log'),
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nafter the key\n',
  );
  const withTools = new LocalTransport({
    env: { PATH: `${fakes}:${process.env.PATH ?? ''}`, ...env },
  });
  const withoutJournal = new LocalTransport({ env: { PATH: bare, ...env } });
  const transport = new LabLikeTransport(withTools, withoutJournal);
  cleanups.push(() => transport.dispose());

  const hosts = new Map<string, HostTarget>(
    hostNames.map((name) => [name, { name, address: '127.0.0.1', port: 22, user: 'root' }]),
  );
  const runsDir = join(dir, 'runs');
  const engineTransport = new LocalTransport();
  cleanups.push(() => engineTransport.dispose());
  const engine = new RunEngine({
    transport: engineTransport,
    runsDir,
    steps: [
      {
        id: 'join',
        title: 'join',
        phase: 'test',
        targets: 'all',
        secrets: ['SUDO_PW'],
        run: `echo "joining with --token ${TOKEN} --discovery-token-ca-cert-hash ${CA_HASH}"; echo "sudo $SUDO_PW"; echo 'adminPassword: "p4ss"'`,
      },
      {
        id: 'fails',
        title: 'fails',
        phase: 'test',
        targets: [hostNames[0]!],
        after: ['join'],
        run: 'echo "Authorization: Bearer 0123456789abcdefXYZ" >&2; exit 3',
      },
      { id: 'manual', title: 'manual', phase: 'test', targets: 'all', run: 'true' },
    ],
    // A consultant's skip reason goes into the journal as typed, secret and all.
    skip: [{ step: 'manual', reason: `joined by hand: kubeadm join --token ${TOKEN}` }],
    hosts,
    resolveTargets: (t) => (t === 'all' ? [...hosts.keys()] : [...(t as string[])]),
    planText,
    secrets: { get: async () => KNOWN, values: async () => [KNOWN] },
    retryDelayMs: () => 0,
    clusterLock: false,
  });
  const events = recordEvents(engine);
  cleanups.push(() => events.dispose());
  const result = await engine.run();
  expect(result.state).toBe('failed');
  // The engine hides only the secrets it knows; the others are in the run folder.
  expect(await readFile(join(result.runDir, 'journal.jsonl'), 'utf8')).toContain(TOKEN);
  // What the runbook leaves in a run folder: facts per host and the preflight findings.
  await mkdir(join(result.runDir, 'facts'), { recursive: true });
  await writeFile(
    join(result.runDir, 'facts', `${hostNames[0]}.json`),
    JSON.stringify({ hostname: hostNames[0], bmc: { password: 'facts-pw-11' } }),
  );
  return {
    dir,
    runsDir,
    runId: result.runId,
    runDir: result.runDir,
    hosts,
    transport,
    logDir,
  };
}

function readZip(file: Buffer): Map<string, string> {
  const entries = unzipSync(new Uint8Array(file));
  return new Map(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v).toString('utf8')]));
}

function manifestOf(entries: Map<string, string>, runId: string): LogBundleManifest {
  return JSON.parse(entries.get(`ustart-logs-${runId}/manifest.json`)!) as LogBundleManifest;
}

describe('createLogBundle', () => {
  it('bundles the run folder and the hosts logs with every secret redacted; host failures are recorded', async () => {
    const f = await fixture();
    const out = join(f.dir, 'bundle.zip');
    const progress: LogBundleProgress[] = [];
    const result = await createLogBundle({
      runDir: f.runDir,
      out,
      hosts: {
        transport: f.transport,
        targets: f.hosts,
        logDir: f.logDir,
        units: ['ceph-osd@0'],
      },
      secrets: { values: async () => [KNOWN] },
      onProgress: (e) => progress.push(e),
      version: '9.9.9-test',
    });

    // An independent reader checks every entry's CRC.
    const test = spawnSync('unzip', ['-t', out], { encoding: 'utf8' });
    expect(test.stdout).toContain('No errors detected');
    const entries = readZip(await readFile(out));
    const root = `ustart-logs-${f.runId}`;
    for (const name of [
      'manifest.json',
      'run/journal.jsonl',
      'run/plan.yaml',
      'run/steps.json',
      'run/logs/join/h1.log',
      'run/logs/join/h2.log',
      'run/logs/join/h3.log',
      'run/logs/fails/h1.log',
      'run/facts/h1.json',
      'hosts/h1/journal/kubelet.log',
      'hosts/h1/journal/containerd.log',
      'hosts/h1/journal/chrony.log',
      'hosts/h1/journal/ceph-osd@0.log',
      'hosts/h1/kernel.log',
      'hosts/h1/ustart-logs/install.log',
      'hosts/h1/ustart-logs/umetal/key.log',
      'hosts/h2/kernel.log',
    ]) {
      expect([...entries.keys()], name).toContain(`${root}/${name}`);
    }
    for (const [name, text] of entries) {
      for (const secret of SECRETS) expect(text, `${secret} in ${name}`).not.toContain(secret);
    }

    const kubelet = entries.get(`${root}/hosts/h1/journal/kubelet.log`)!;
    expect(kubelet).toContain('--token [redacted]');
    expect(kubelet).toContain(`--discovery-token-ca-cert-hash ${CA_HASH}`);
    expect(kubelet).toContain(`(since @${Math.floor(Date.parse(result.manifest.since!) / 1000)})`);
    expect(entries.get(`${root}/hosts/h1/ustart-logs/umetal/key.log`)).toBe(
      '[redacted private key]\nafter the key\n',
    );
    for (const line of entries.get(`${root}/run/journal.jsonl`)!.trim().split('\n')) {
      expect(() => JSON.parse(line) as unknown).not.toThrow();
    }

    const m = manifestOf(entries, f.runId);
    expect(m).toEqual(result.manifest);
    expect(m.ustartVersion).toBe('9.9.9-test');
    expect(m.runId).toBe(f.runId);
    expect(m.run.state).toBe('failed');
    expect(m.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h1', 'collected'],
      ['h2', 'partial'],
      ['h3', 'failed'],
    ]);
    const h2 = m.hosts[1]!;
    expect(h2.items.find((i) => i.path === 'journal/kubelet.log')).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('not installed') as string,
    });
    expect(m.hosts[2]!.error).toMatchObject({ code: 'AuthFailed' });
    expect(m.notCollected).toContainEqual(
      expect.objectContaining({ host: 'h3', reason: expect.stringContaining('no key') as string }),
    );
    expect(m.notCollected).toContainEqual(
      expect.objectContaining({ what: 'findings', reason: 'the run folder has no findings' }),
    );
    expect(m.files.find((x) => x.path.endsWith('run/facts/h1.json'))?.kind).toBe('facts');
    expect(m.files.every((x) => x.bytes === Buffer.byteLength(entries.get(x.path)!))).toBe(true);
    expect(m.redaction.knownSecrets).toBe(1);
    expect(m.redaction.replaced['secret-flag']).toBeGreaterThan(0);
    expect(m.redaction.replaced.known).toBeGreaterThan(0);
    expect(progress.filter((e) => e.type === 'host-finished')).toHaveLength(3);
    expect(progress.at(-1)).toEqual({ type: 'bundle-written', out, bytes: result.bytes });
    expect(await readdir(f.dir)).not.toContainEqual(expect.stringMatching(/partial$/));
  });

  it('refuses to overwrite a file unless forced, and a cancel leaves nothing behind', async () => {
    const f = await fixture();
    const out = join(f.dir, 'bundle.zip');
    await writeFile(out, 'an earlier bundle');
    const refused = await createLogBundle({ runDir: f.runDir, out }).catch((e: unknown) => e);
    expect(isUstartError(refused, 'InvalidArgument')).toBe(true);
    expect((refused as Error).message).toContain('--force');
    expect(await readFile(out, 'utf8')).toBe('an earlier bundle');

    const controller = new AbortController();
    const cancelled = await createLogBundle({
      runDir: f.runDir,
      out,
      force: true,
      hosts: { transport: f.transport, targets: f.hosts, logDir: f.logDir },
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'host-item') controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(isUstartError(cancelled, 'Cancelled')).toBe(true);
    expect(await readFile(out, 'utf8')).toBe('an earlier bundle');
    expect((await readdir(f.dir)).filter((n) => n.includes('.partial'))).toEqual([]);

    const forced = await createLogBundle({ runDir: f.runDir, out, force: true });
    expect(forced.manifest.notCollected).toContainEqual({
      what: 'host logs',
      reason: 'not asked for (--no-hosts)',
    });
    expect(readZip(await readFile(out)).size).toBe(forced.manifest.files.length + 1);
  });

  it('records a host that does not answer in time and still writes the bundle', async () => {
    const f = await fixture({ BLOCK_HOST: 'h1' });
    const out = join(f.dir, 'slow.zip');
    const result = await createLogBundle({
      runDir: f.runDir,
      out,
      hosts: { transport: f.transport, targets: f.hosts, logDir: f.logDir, timeoutMs: 1_000 },
    });
    const h1 = result.manifest.hosts.find((h) => h.host === 'h1')!;
    expect(h1.status).toBe('failed');
    expect(h1.error).toMatchObject({ code: 'CommandTimeout' });
    expect(h1.items[0]!.message).toContain('no answer within 1 s');
    expect(existsSync(out)).toBe(true);
    // Its blocked journalctl was killed with the collection, not left running.
    const left = spawnSync('pgrep', ['-f', 'sleep 987654'], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
  });
});

describe('collectLogBundle', () => {
  it('finds the run by id and the hosts in the plan the run used', async () => {
    const plan = await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8');
    const f = await fixture({}, ['ctl-01', 'ctl-02'], plan);
    const out = join(f.dir, 'by-id.zip');
    const local = new LocalTransport({
      env: { PATH: `${join(f.dir, 'fakes')}:${process.env.PATH ?? ''}` },
    });
    cleanups.push(() => local.dispose());
    const seen: HostTarget[] = [];
    const transport: Transport = {
      connect: (t) => {
        seen.push(t);
        return local.connect(t);
      },
      dispose: () => local.dispose(),
    };
    const result = await collectLogBundle(f.runId, out, {
      runsDir: f.runsDir,
      transport,
      hostOptions: { logDir: join(f.dir, 'nowhere') },
      secrets: { values: async () => [KNOWN] },
    });
    expect(result.manifest.hosts.map((h) => [h.host, h.status])).toEqual([
      ['ctl-01', 'collected'],
      ['ctl-02', 'collected'],
    ]);
    expect(result.manifest.hosts[0]!.items.at(-1)).toMatchObject({
      path: 'ustart-logs/',
      status: 'absent',
    });
    expect(result.manifest.notCollected).toContainEqual({
      what: join(f.dir, 'nowhere'),
      host: 'ctl-01',
      reason: `${join(f.dir, 'nowhere')} does not exist on the host`,
    });
    // Targets come from the plan: its access user and the servers' addresses.
    expect(seen.map((t) => t.user)).toEqual(['ubuntu', 'ubuntu']);
    expect(seen.every((t) => t.address !== '127.0.0.1')).toBe(true);

    const missing = await collectLogBundle('20990101-000000-abcdef', out, {
      runsDir: f.runsDir,
    }).catch((e: unknown) => e);
    expect(isUstartError(missing, 'RunNotFound')).toBe(true);
    const bad = await collectLogBundle('../x', out, { runsDir: f.runsDir }).catch(
      (e: unknown) => e,
    );
    expect(isUstartError(bad, 'InvalidArgument')).toBe(true);
  });
});

describe('parseSince', () => {
  it('takes durations back from now and dates, and names the forms it wants otherwise', () => {
    const now = Date.parse('2026-11-27T12:00:00Z');
    expect(parseSince('90m', now)).toBe(now - 90 * 60_000);
    expect(parseSince('2d', now)).toBe(now - 2 * 86_400_000);
    expect(parseSince('2026-11-27T10:00Z', now)).toBe(Date.parse('2026-11-27T10:00Z'));
    expect(() => parseSince('yesterday', now)).toThrow(/90m, 6h or 2d/);
  });
});
