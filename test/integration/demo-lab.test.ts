/**
 * The demo lab speaks real SSH: a plain OpenSSH client logs in and runs commands, the
 * product's Ssh2Transport uploads over SFTP and checks the sha256 on the host, the facts
 * come from the plan, and the host keys survive a restart.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { factsDocument, hostFacts } from '../../src/demo/host-facts.js';
import { DemoTransport, startDemoLab, type DemoLab } from '../../src/demo/index.js';
import { FACTS_SCRIPT } from '../../src/engine/facts-step.js';
import { loadPlanFile, type Plan } from '../../src/plan/index.js';
import { HostFacts } from '../../src/runbook/fact-schemas.js';
import { preflight } from '../../src/runbook/preflight.js';
import type { HostConnection } from '../../src/ssh/transport.js';
import { assetPath } from '../../src/util/assets.js';

const run = promisify(execFile);
const SAMPLE = assetPath('samples', 'demo-stuttgart.yaml');

let plan: Plan;
let dir: string;
const labs: DemoLab[] = [];
const transports: DemoTransport[] = [];

beforeAll(async () => {
  plan = (await loadPlanFile(SAMPLE)).plan!;
  dir = await mkdtemp(join(tmpdir(), 'ustart-demo-test-'));
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed25519')]);
});

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.dispose()));
  await Promise.all(labs.splice(0).map((l) => l.dispose()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lab(options: Parameters<typeof startDemoLab>[1] = {}): Promise<DemoLab> {
  const l = await startDemoLab(plan, { speed: 1000, ...options });
  labs.push(l);
  return l;
}

async function connect(l: DemoLab, host: string): Promise<HostConnection> {
  const t = new DemoTransport(l);
  transports.push(t);
  return t.connect(l.targets.get(host)!);
}

async function exec(conn: HostConnection, command: string, stdin?: string) {
  let out = '';
  let err = '';
  const outcome = await conn.exec(command, {
    ...(stdin === undefined ? {} : { stdin }),
    onStdout: (c) => (out += Buffer.from(c).toString('utf8')),
    onStderr: (c) => (err += Buffer.from(c).toString('utf8')),
  });
  return { outcome, out, err };
}

function ssh(l: DemoLab, host: string, command: string) {
  const t = l.targets.get(host)!;
  return run('ssh', [
    '-p',
    String(t.port),
    '-i',
    join(dir, 'id_ed25519'),
    '-o',
    `UserKnownHostsFile=${l.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-F',
    '/dev/null',
    `${t.user}@${t.address}`,
    command,
  ]);
}

describe('demo lab', () => {
  it('answers a plain OpenSSH client: hostname is the planned one, host key checked strictly', async () => {
    const l = await lab();
    const { stdout } = await ssh(l, 'cmp-02', 'hostname');
    expect(stdout).toBe('cmp-02\n');
    const osr = await ssh(l, 'ctl-01', 'cat /etc/os-release; uname -r');
    expect(osr.stdout).toContain('VERSION_ID="24.04"');
    expect(osr.stdout).toContain('6.8.0-49-generic');
  });

  it('uploads over SFTP through Ssh2Transport, verified by sha256 on the host', async () => {
    const l = await lab();
    const conn = await connect(l, 'ctl-02');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    await exec(conn, 'mkdir -p /var/lib/ustart/in');
    await conn.upload(data, '/var/lib/ustart/in/blob.bin', { mode: 0o640 });
    const stored = l.hosts.get('ctl-02')!.vfs.get('/var/lib/ustart/in/blob.bin');
    expect(stored?.kind === 'file' && stored.mode).toBe(0o640);
    const sum = await exec(conn, 'sha256sum -- /var/lib/ustart/in/blob.bin');
    expect(sum.out.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
    // With an owner the transport renames through `chown && mv` under sudo.
    await conn.upload(Buffer.from('hello\n'), '/etc/motd', { owner: 'root:root', mode: 0o644 });
    expect((await exec(conn, 'cat /etc/motd')).out).toBe('hello\n');
    expect(
      l.hosts
        .get('ctl-02')!
        .vfs.list('/etc')
        .filter((n) => n.includes('ustart-')),
    ).toEqual([]);
  });

  it('reports facts from the plan: CPU, memory, disks, NICs with MACs and addresses', async () => {
    const l = await lab();
    const server = plan.servers.find((s) => s.hostname === 'sto-01')!;
    const conn = await connect(l, 'sto-01');
    const { outcome, out } = await exec(conn, FACTS_SCRIPT);
    expect(outcome).toEqual({ kind: 'exited', code: 0 });
    const section = (name: string) => out.split(`== ${name}\n`)[1]!.split('\n== ')[0]!;
    expect(Number(section('nproc'))).toBe(
      server.cpu.sockets * server.cpu.cores * server.cpu.threads,
    );
    const disks = JSON.parse(section('lsblk')) as {
      blockdevices: { path: string; size: string }[];
    };
    expect(disks.blockdevices.map((d) => d.path)).toEqual(server.disks.map((d) => d.device));
    const links = JSON.parse(section('ip')) as {
      ifname: string;
      address: string;
      addr_info: { local: string }[];
    }[];
    for (const nic of server.nics) {
      const link = links.find((x) => x.ifname === nic.name)!;
      expect(link.address).toBe(nic.mac);
      expect(link.addr_info.map((a) => a.local)).toEqual([server.addresses[nic.network!]]);
    }
    const memLine = section('free').split('\n')[1]!;
    const seenGiB = Number(memLine.split(/\s+/)[1]) / 2 ** 30;
    // The kernel keeps a little memory for itself, as on a real host: within 2 %.
    expect(Math.abs(seenGiB - server.memoryGiB) / server.memoryGiB).toBeLessThan(0.02);
  });

  it('gives facts the preflight passes, before the install and after it, when kube-vip on ctl-01 holds the VIPs', () => {
    const now = 1_800_000_000_000;
    const hosts = new Map(plan.servers.map((s) => [s.hostname, hostFacts(plan, s)]));
    const gather = (holder: ReturnType<typeof hostFacts> | null) =>
      new Map(
        plan.servers.map((s) => {
          const doc = factsDocument(hosts.get(s.hostname)!, now, plan.site.dns, {
            plan,
            vipHolder: () => holder,
          });
          return [
            s.hostname,
            { facts: HostFacts.parse(JSON.parse(doc)), window: { from: now, to: now } },
          ];
        }),
      );
    const before = gather(null);
    expect(preflight(plan, before)).toEqual([]);
    const after = gather(hosts.get('ctl-01')!);
    expect(preflight(plan, after)).toEqual([]);
    // ctl-02 sees the API VIP answer from ctl-01's management NIC, and ctl-01 holds it.
    const ctl01 = plan.servers.find((s) => s.hostname === 'ctl-01')!;
    expect(after.get('ctl-02')!.facts.vips![0]).toMatchObject({
      answers: true,
      mac: ctl01.nics.find((n) => n.network === 'mgmt')!.mac.toLowerCase(),
    });
    expect(after.get('ctl-01')!.facts.vips![0]).toMatchObject({ local: true, answers: false });
    expect(before.get('ctl-02')!.facts.vips![0]).toMatchObject({ onLink: true, answers: false });
  });

  it('reports another MAC for a --mac-mismatch host', async () => {
    const l = await lab({ scenario: { macMismatch: ['cmp-01'] } });
    const conn = await connect(l, 'cmp-01');
    const links = JSON.parse((await exec(conn, 'ip -j link show')).out) as {
      ifname: string;
      address: string;
    }[];
    const planned = plan.servers.find((s) => s.hostname === 'cmp-01')!.nics[0]!;
    const seen = links.find((x) => x.ifname === planned.name)!.address;
    expect(seen).not.toBe(planned.mac);
    expect(seen.slice(0, 8)).toBe(planned.mac.slice(0, 8));
  });

  it('keeps its host keys across restarts, so the known_hosts of the last run still holds', async () => {
    const first = await lab({ basePort: 0 });
    const keysBefore = (await readFile(first.knownHostsPath, 'utf8'))
      .split('\n')
      .map((l) => l.split(' ').slice(1).join(' '));
    await first.dispose();
    labs.splice(labs.indexOf(first), 1);
    const second = await lab();
    const keysAfter = (await readFile(second.knownHostsPath, 'utf8'))
      .split('\n')
      .map((l) => l.split(' ').slice(1).join(' '));
    expect(keysAfter).toEqual(keysBefore);
    expect(new Set(keysAfter.filter(Boolean)).size).toBe(plan.servers.length);
  });

  it('an unreachable host drops the connection; the transport reports ConnectionFailed', async () => {
    const l = await lab({ scenario: { unreachable: ['sto-03'] } });
    await expect(connect(l, 'sto-03')).rejects.toMatchObject({ code: 'ConnectionFailed' });
  });

  it('the demo transport refuses anything that is not a lab host', async () => {
    const l = await lab();
    const t = new DemoTransport(l);
    transports.push(t);
    await expect(
      t.connect({ name: 'ctl-01', address: '10.10.0.11', port: 22, user: 'ubuntu' }),
    ).rejects.toMatchObject({ code: 'DemoRefused' });
    await expect(
      t.connect({ name: 'ctl-01', address: '127.0.0.1', port: 22, user: 'ubuntu' }),
    ).rejects.toMatchObject({ code: 'DemoRefused' });
  });

  it('kills a running command on cancel and confirms it gone', async () => {
    const l = await lab({ speed: 1 });
    const conn = await connect(l, 'ctl-01');
    const abort = new AbortController();
    const outcome = conn.exec('sleep 600', { signal: abort.signal, onStdout: () => undefined });
    setImmediate(() => abort.abort());
    expect(await outcome).toEqual({ kind: 'cancelled', remoteKilled: true });
  });

  it('a step\'s check says "not done" until its run finished on that host, so a second run skips', async () => {
    const l = await lab();
    const step = {
      id: 'umetal.swap-off',
      title: 'Turn swap off',
      phase: 'umetal',
      targets: 'all' as const,
      run: '/bin/bash /var/lib/ustart/steps/umetal.swap-off/run.sh',
      check: '/bin/bash /var/lib/ustart/steps/umetal.swap-off/check.sh',
    };
    l.useSteps([step]);
    const conn = await connect(l, 'cmp-03');
    expect((await exec(conn, step.check)).outcome).toEqual({ kind: 'exited', code: 1 });
    const ran = await exec(conn, step.run);
    expect(ran.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(ran.out).toContain('swapoff -a');
    expect((await exec(conn, step.check)).outcome).toEqual({ kind: 'exited', code: 0 });
    const other = await connect(l, 'cmp-04');
    expect((await exec(other, step.check)).outcome).toEqual({ kind: 'exited', code: 1 });
  });

  it('leaves nothing open after dispose: no server, socket or timer', async () => {
    const count = () => {
      const all = process.getActiveResourcesInfo().filter((r) => /TCP|Timeout/.test(r));
      return all.length;
    };
    const before = count();
    const l = await startDemoLab(plan, { speed: 1 });
    const t = new DemoTransport(l);
    const conn = await t.connect(l.targets.get('ctl-03')!);
    l.useSteps([
      {
        id: 'umetal.containerd',
        title: 'Install containerd',
        phase: 'umetal',
        targets: 'all',
        run: 'run-containerd',
      },
    ]);
    let seen = '';
    const running = conn.exec('run-containerd', {
      onStdout: (c) => (seen += Buffer.from(c).toString()),
    });
    // A transcript is playing (a timer is pending) when everything is closed.
    await new Promise<void>((resolve) => {
      const poll = () => (seen ? resolve() : setImmediate(poll));
      poll();
    });
    await t.dispose();
    await l.dispose();
    await running;
    expect(count()).toBeLessThanOrEqual(before);
  });

  it('an interactive shell answers at a prompt, commands typed ahead included, until exit', async () => {
    const l = await lab();
    const t = l.targets.get('ctl-01')!;
    const client = new ssh2.Client();
    const transcript = await new Promise<string>((resolve, reject) => {
      let text = '';
      client.on('error', reject);
      client.on('ready', () =>
        client.shell(false, (err, s) => {
          if (err) return reject(err);
          s.on('data', (d: Buffer) => (text += d.toString('utf8')));
          s.on('close', () => resolve(text));
          s.write('hostname\nuname -r\nsystemctl is-active chrony\nexit\n');
        }),
      );
      client.connect({
        host: t.address,
        port: t.port,
        username: t.user,
        password: 'any',
        hostVerifier: () => true,
      });
    }).finally(() => client.end());
    expect(transcript).toContain('ubuntu@ctl-01:~$ ctl-01\n');
    expect(transcript).toContain('6.8.0-49-generic\n');
    expect(transcript).toContain('inactive\n');
    expect(transcript.trimEnd().endsWith('logout')).toBe(true);
  });
});
