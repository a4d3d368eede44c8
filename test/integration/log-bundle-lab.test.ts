/**
 * `ustart logs collect` against real sshd lab hosts: the engine runs a step that leaves
 * secrets in its logs and in /var/log/ustart on the hosts, then one host's link is cut and
 * the bundle is collected. The reachable host's logs are in it, the cut one is recorded as
 * failed in the manifest, the bundle is still written, and no secret is anywhere in it.
 *
 * Lab hosts run sshd only, no journald; a test double of `journalctl` in each host's own
 * root (/usr/local/bin, before /usr/bin on sshd's PATH) prints a fixture as journald would,
 * and records the arguments it was called with.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEngine } from '../../src/engine/index.js';
import type { LogBundleManifest } from '../../src/logbundle/index.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import type { HostTarget } from '../../src/ssh/transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { runCli } from '../support/run-cli.js';

const available = labAvailable();

const TOKEN = 'q7w8e9.r1t2y3u4i5o6p7a8';
const SECRETS = [TOKEN, 'lab-journal-pw-31', 'lab-os-pw-62', 'lab-step-pw-93', 'cafe0123cafe4567'];

const JOURNALCTL_DOUBLE = `#!/bin/sh
# Test double of journalctl (the lab hosts run no journald): a fixture with secrets in it.
echo "$*" >> /root/journalctl-calls
unit=
while [ $# -gt 0 ]; do case $1 in -u) unit=$2; shift ;; esac; shift; done
echo "2026-11-27T16:00:00+0000 $(hostname) $unit[7]: Started $unit"
echo "2026-11-27T16:00:01+0000 $(hostname) $unit[7]: join --token ${TOKEN} --certificate-key cafe0123cafe4567"
echo "2026-11-27T16:00:02+0000 $(hostname) $unit[7]: db password: lab-journal-pw-31"
`;

describe.skipIf(!available)('log bundle from lab hosts', () => {
  let lab: Lab;
  let tmp: string;
  let runsDir: string;
  let runId: string;
  const disposers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-logbundle-lab-'));
    lab = await createLab({ hosts: 2 });
    for (const h of lab.hosts) {
      await lab.exec(
        h.index,
        `cat > /usr/local/bin/journalctl <<'EOF'\n${JOURNALCTL_DOUBLE}EOF\nchmod 755 /usr/local/bin/journalctl`,
      );
    }
    const hosts = new Map<string, HostTarget>(lab.hosts.map((h) => [h.name, lab.target(h.index)]));
    const transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
    });
    disposers.push(() => transport.dispose());
    runsDir = join(tmp, 'runs');
    const engine = new RunEngine({
      transport,
      runsDir,
      steps: [
        {
          id: 'install',
          title: 'install something',
          phase: 'test',
          targets: 'all',
          run: [
            'mkdir -p /var/log/ustart',
            `echo "export OS_PASSWORD=lab-os-pw-62" > /var/log/ustart/install.log`,
            'echo "step done" >> /var/log/ustart/install.log',
            `echo "kubeadm token create: ${TOKEN}"`,
            `echo '{"adminPassword": "lab-step-pw-93"}'`,
          ].join('\n'),
        },
      ],
      hosts,
      resolveTargets: () => [...hosts.keys()],
      planText: await readFile(lab.planPath, 'utf8'),
      clusterLock: false,
    });
    const result = await engine.run();
    expect(result.state).toBe('succeeded');
    // The engine hides only the secrets it knows: the token is in the run folder as printed.
    expect(
      await readFile(join(result.runDir, 'logs', 'install', `${lab.hosts[0]!.name}.log`), 'utf8'),
    ).toContain(TOKEN);
    runId = result.runId;
  });
  /** `ustart logs collect` of the run, in-process, as a shell would run it. */
  const collectTo = (out: string, ...extra: string[]) =>
    runCli('logs', 'collect', runId, '--out', out, '--runs-dir', runsDir, ...extra);

  afterAll(async () => {
    for (const d of disposers.splice(0)) await d();
    await lab?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it(
    'collects from the reachable host, records the cut one as failed, and redacts every secret',
    { timeout: 120_000 },
    async () => {
      await lab.cutLink(1);
      disposers.push(() => lab.restoreLink(1));
      const out = join(tmp, 'bundle.zip');
      const {
        code,
        out: stdout,
        err,
      } = await collectTo(
        out,
        '-i',
        lab.clientKeyPath,
        '--known-hosts',
        lab.knownHostsPath,
        '--since',
        '2h',
        '--unit',
        'ceph-mon',
        '--host-timeout',
        '60',
      );
      expect(err).toContain(`✓ ${lab.hosts[0]!.name}`);
      expect(err).toContain(`✗ ${lab.hosts[1]!.name}`);
      expect(code).toBe(0);
      expect(stdout).toContain(`Wrote ${out}`);
      expect(stdout).toContain('hosts: 1 of 2 reached');

      expect(spawnSync('unzip', ['-t', out], { encoding: 'utf8' }).stdout).toContain(
        'No errors detected',
      );
      const entries = new Map(
        Object.entries(unzipSync(new Uint8Array(await readFile(out)))).map(([k, v]) => [
          k,
          Buffer.from(v).toString('utf8'),
        ]),
      );
      const root = `ustart-logs-${runId}`;
      const [ok, cut] = lab.hosts;
      for (const name of [
        'run/plan.yaml',
        'run/journal.jsonl',
        'run/steps.json',
        `run/logs/install/${ok!.name}.log`,
        `run/logs/install/${cut!.name}.log`,
        `hosts/${ok!.name}/journal/kubelet.log`,
        `hosts/${ok!.name}/journal/containerd.log`,
        `hosts/${ok!.name}/journal/chrony.log`,
        `hosts/${ok!.name}/journal/ceph-mon.log`,
        `hosts/${ok!.name}/kernel.log`,
        `hosts/${ok!.name}/ustart-logs/install.log`,
      ]) {
        expect([...entries.keys()]).toContain(`${root}/${name}`);
      }
      expect([...entries.keys()].some((k) => k.includes(`/hosts/${cut!.name}/`))).toBe(false);
      for (const [name, text] of entries) {
        for (const s of SECRETS) expect(text, `${s} in ${name}`).not.toContain(s);
      }
      expect(entries.get(`${root}/hosts/${ok!.name}/journal/kubelet.log`)).toContain(
        `${ok!.name} kubelet[7]: join --token [redacted] --certificate-key [redacted]`,
      );
      expect(entries.get(`${root}/hosts/${ok!.name}/ustart-logs/install.log`)).toBe(
        'export OS_PASSWORD=[redacted]\nstep done\n',
      );

      const m = JSON.parse(entries.get(`${root}/manifest.json`)!) as LogBundleManifest;
      expect(m.runId).toBe(runId);
      expect(m.hosts.find((h) => h.host === ok!.name)?.status).toBe('collected');
      const failed = m.hosts.find((h) => h.host === cut!.name)!;
      expect(failed.status).toBe('failed');
      expect(failed.address).toBe(cut!.address);
      expect(['ConnectionFailed', 'CommandTimeout']).toContain(failed.error?.code);
      expect(m.notCollected).toContainEqual(
        expect.objectContaining({ what: 'host logs', host: cut!.name }),
      );
      // journalctl was asked for the units and the time span given.
      const calls = (await lab.exec(0, 'cat /root/journalctl-calls')).stdout;
      const since = Math.floor(Date.parse(m.since!) / 1000);
      expect(calls).toContain(`-u kubelet --since @${since} --no-pager -o short-iso`);
      expect(calls).toContain('-u ceph-mon');
    },
  );

  it('writes the run folder only with --no-hosts, refuses to overwrite, and `logs RUN_ID` still prints logs', async () => {
    const out = join(tmp, 'no-hosts.zip');
    const first = await collectTo(out, '--no-hosts');
    expect(first.code).toBe(0);
    expect(first.out).toContain('hosts: not asked for');
    const again = await collectTo(out, '--no-hosts');
    expect(again.code).toBe(2);
    expect(again.err).toContain('--force');
    expect((await collectTo(out, '--no-hosts', '--force')).code).toBe(0);
    expect(existsSync(out)).toBe(true);

    const logs = await runCli('logs', runId, '--runs-dir', runsDir, '--host', lab.hosts[0]!.name);
    expect(logs.code).toBe(0);
    expect(logs.out).toContain('kubeadm token create');
  });
});
