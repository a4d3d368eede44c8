/**
 * Runbook scripts and lib.sh helpers run for real in bash, with the commands they call
 * replaced by small fakes on PATH: with_gitea leaves the caller's EXIT trap alone and stops
 * its port-forward, waiting for it to end, whether the function it runs succeeds or fails;
 * umetal.health's check only reads and reports in plain words, its run is what fails.
 */
import { execFile, spawn } from 'node:child_process';
import {
  appendFile,
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bom } from '../render/bom.js';
import { chartFileVars } from '../render/host-env.js';
import { shellQuote } from '../render/env-file.js';
import { defaultRunbookDir } from './load.js';

const SCRIPTS = join(defaultRunbookDir(), 'scripts');
const execFileAsync = promisify(execFile);

let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ustart-lib-sh-'));
});
afterEach(async () => {
  // A fake port-forward left running by a failed assertion is stopped here.
  const log = await readFile(join(tmp, 'log'), 'utf8').catch(() => '');
  for (const m of log.matchAll(/^forward started (\d+)$/gm)) {
    try {
      process.kill(Number(m[1]), 'SIGKILL');
    } catch {
      // already gone, as it should be
    }
  }
  await rm(tmp, { recursive: true, force: true });
});

/** A fake command on PATH for the scripts under test. */
async function fake(name: string, text: string): Promise<void> {
  await mkdir(join(tmp, 'bin'), { recursive: true });
  await writeFile(join(tmp, 'bin', name), `#!/usr/bin/env bash\n${text}\n`);
  await chmod(join(tmp, 'bin', name), 0o755);
}

/**
 * Lays out a host as uStart leaves it (root/hosts/<host>/env, root/steps/<step>/) with `text`
 * as the step's `name`, runs it with the fakes first on PATH and resolves with its exit code
 * and output.
 */
async function runStep(
  step: string,
  name: string,
  text: string,
  /** Lines appended to the host's env file (after env.sample's). */
  envExtra = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const root = join(tmp, 'root');
  await mkdir(join(root, 'hosts', 'ctl-01'), { recursive: true });
  await mkdir(join(root, 'steps', step), { recursive: true });
  await copyFile(join(SCRIPTS, 'env.sample'), join(root, 'hosts', 'ctl-01', 'env'));
  if (envExtra) await appendFile(join(root, 'hosts', 'ctl-01', 'env'), envExtra);
  // The scripts source /var/lib/ustart/lib.sh; here, the runbook's own.
  const script = join(root, 'steps', step, name);
  await writeFile(
    script,
    text.replace('. /var/lib/ustart/lib.sh', `. ${JSON.stringify(join(SCRIPTS, 'lib.sh'))}`),
  );
  await chmod(script, 0o755);
  return new Promise((resolve, reject) => {
    const child = spawn(script, [], {
      env: {
        ...process.env,
        PATH: `${join(tmp, 'bin')}:${process.env.PATH ?? ''}`,
        USTART_ROOT: root,
        FAKE_LOG: join(tmp, 'log'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * kubectl with the admin secret's fields, and a port-forward that runs until SIGTERM and then
 * takes an event-loop turn to let go (as a real one may), logging both; curl answers once this
 * call's port-forward is up, as Gitea behind it would.
 */
async function gitea(): Promise<void> {
  const forward = [
    "const { appendFileSync } = require('node:fs');",
    'const log = process.env.FAKE_LOG;',
    "process.on('SIGTERM', () => setImmediate(() => { appendFileSync(log, 'forward stopped\\n'); process.exit(0); }));",
    'appendFileSync(log, `forward started ${process.pid}\\n`);',
    'setInterval(() => {}, 1 << 30);',
  ].join('\n');
  await writeFile(join(tmp, 'forward.cjs'), forward);
  await fake(
    'kubectl',
    `case " $* " in
  *" port-forward "*) exec node ${JSON.stringify(join(tmp, 'forward.cjs'))} ;;
  *"{.data.username}"*) printf %s YWRtaW4= ;;
  *"{.data.password}"*) printf %s c2VjcmV0 ;;
  *) exit 1 ;;
esac`,
  );
  await fake(
    'curl',
    '(($(grep -c "^forward started" "$FAKE_LOG") > $(grep -c "^forward stopped" "$FAKE_LOG")))',
  );
}

/** A step script of `body` after the usual head. */
const script = (body: string) =>
  `#!/usr/bin/env bash\nset -euo pipefail\n. /var/lib/ustart/lib.sh\n${body}\n`;

async function logLines(): Promise<string[]> {
  const text = await readFile(join(tmp, 'log'), 'utf8');
  return text.trimEnd().split('\n');
}

const CALLER = `trap 'echo caller trap >>"$FAKE_LOG"' EXIT
seen() {
  echo "work $GITEA_WORK" >>"$FAKE_LOG"
  [[ $(stat -c %a "$GITEA_NETRC") == 600 ]] && grep -q 'login admin password secret' "$GITEA_NETRC"
}`;

describe('with_gitea (lib.sh)', () => {
  it('keeps the caller’s EXIT trap and has stopped the port-forward when it returns', async () => {
    await gitea();
    const { code, stderr } = await runStep(
      'ugarden.repository',
      'run.sh',
      script(`${CALLER}\nwith_gitea seen\necho returned >>"$FAKE_LOG"`),
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = await logLines();
    expect(lines.map((l) => l.replace(/ .*/, ''))).toEqual([
      'forward',
      'work',
      'forward',
      'returned',
      'caller',
    ]);
    expect(lines[2]).toBe('forward stopped');
    expect(lines[4]).toBe('caller trap');
    const work = lines[1]!.slice('work '.length);
    await expect(stat(work)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('on a failing function stops and waits for the port-forward, then the caller’s trap runs', async () => {
    await gitea();
    const { code } = await runStep(
      'ugarden.repository',
      'run.sh',
      script(`${CALLER}\nwith_gitea seen\nwith_gitea false\necho not reached >>"$FAKE_LOG"`),
    );
    expect(code).toBe(1);
    const lines = await logLines();
    expect(lines.slice(3).map((l) => l.replace(/ \d+$/, ''))).toEqual([
      'forward started',
      'forward stopped',
      'caller trap',
    ]);
  });
});

/**
 * kubectl answering the health probes: every planned node Ready but those in `notReady`,
 * kube-system pods running, Ceph HEALTH_OK. Any other call (a write) is logged and refused.
 */
async function cluster(notReady: string[]): Promise<void> {
  await fake(
    'kubectl',
    `case "$*" in
  "get node "*) [[ " ${notReady.join(' ')} " == *" $3 "* ]] && echo False || echo True ;;
  "-n kube-system get pods --no-headers") echo "coredns-1 1/1 Running 0 1m" ;;
  "-n rook-ceph get cephcluster ceph "*) echo HEALTH_OK ;;
  *) echo "kubectl $*" >>"$FAKE_LOG"; exit 1 ;;
esac`,
  );
}

/** The umetal.health step's files.tsv, its staged file and where it goes, `dest`. */
async function healthStep(dest: string): Promise<string> {
  const owner = `${await id('-un')}:${await id('-gn')}`;
  const staged = join(tmp, 'root', 'hosts', 'ctl-01', 'steps', 'umetal.health', 'files');
  await mkdir(join(staged, 'etc'), { recursive: true });
  await writeFile(join(staged, 'etc', 'monitoring.json'), '{"grafana":"https://grafana"}\n');
  await writeFile(
    join(tmp, 'root', 'hosts', 'ctl-01', 'steps', 'umetal.health', 'files.tsv'),
    `etc/monitoring.json\t${dest}\t0644\t${owner}\n`,
  );
  return join(staged, 'etc', 'monitoring.json');
}

/** This user's or group's name, as `stat -c %U:%G` shows the owner of a file made here. */
async function id(flag: '-un' | '-gn'): Promise<string> {
  return (await execFileAsync('id', [flag])).stdout.trim();
}

const UMETAL = join(SCRIPTS, 'umetal');
const healthCheck = async () =>
  runStep('umetal.health', 'check.sh', await readFile(join(UMETAL, 'health-check.sh'), 'utf8'));
const healthRun = async () =>
  runStep('umetal.health', 'run.sh', await readFile(join(UMETAL, 'health.sh'), 'utf8'));

describe('umetal.health', () => {
  it('its check only reads: an unhealthy cluster is reported in plain words, nothing written', async () => {
    await cluster(['ctl-02']);
    const dest = join(tmp, 'handover', 'monitoring.json');
    const staged = await healthStep(dest);
    await mkdir(join(tmp, 'handover'));
    await copyFile(staged, dest);
    await chmod(dest, 0o644);
    const before = await stat(dest);
    const check = await healthCheck();
    expect(check.code).toBe(1);
    expect(check.stdout).toBe('not healthy yet:\n  node ctl-02 is not Ready\n');
    expect(check.stderr).toBe('');
    expect((await stat(dest)).mtimeMs).toBe(before.mtimeMs);
    expect(await readFile(join(tmp, 'log'), 'utf8').catch(() => '')).toBe('');
  });

  it('its check does not install a missing handover file', async () => {
    await cluster([]);
    const dest = join(tmp, 'handover', 'monitoring.json');
    await healthStep(dest);
    const check = await healthCheck();
    expect(check.code).toBe(1);
    expect(check.stdout).toBe('the handover file is missing or differs from the rendered one\n');
    await expect(stat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('its run records the handover file and then fails on the same problems as the check', async () => {
    await cluster(['cmp-01', 'sto-03']);
    const dest = join(tmp, 'handover', 'monitoring.json');
    const staged = await healthStep(dest);
    const run = await healthRun();
    expect(run.code).toBe(1);
    expect(await readFile(dest, 'utf8')).toBe(await readFile(staged, 'utf8'));
    expect(run.stderr).toBe(
      'warning: node cmp-01 is not Ready\nwarning: node sto-03 is not Ready\n' +
        'error: 2 health problems; see the warnings above\n',
    );
  });

  it('passes its check once the cluster is healthy and the handover file recorded', async () => {
    await cluster([]);
    const dest = join(tmp, 'handover', 'monitoring.json');
    await healthStep(dest);
    const run = await healthRun();
    expect(run.code).toBe(0);
    const check = await healthCheck();
    expect(check).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

describe('ceph_healthy (lib.sh), against the kubectl double', () => {
  /**
   * The kubectl double with a CephCluster whose status Rook reports as `health` and `details`
   * (docs/upstream-facts.md#rook.status), in a temporary cluster state.
   */
  async function cephReports(health: string, checks: string[]): Promise<void> {
    const root = join(tmp, 'doubles-root');
    const state = join(tmp, 'doubles-state');
    await mkdir(join(root, 'etc/kubernetes'), { recursive: true });
    await mkdir(state, { recursive: true });
    await writeFile(join(root, 'etc/kubernetes/admin.conf'), 'apiVersion: v1\nkind: Config\n');
    const ceph = { apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', metadata: { name: 'ceph' } };
    await writeFile(
      join(state, 'objects.json'),
      JSON.stringify({ 'CephCluster/rook-ceph/ceph': ceph }),
    );
    const details = Object.fromEntries(
      checks.map((c) => [c, { message: `${c} raised`, severity: health }]),
    );
    await writeFile(join(state, 'ceph-health.json'), JSON.stringify({ health, details }));
    // The double's wrapper (it runs the double through tsx, which the cluster model needs).
    const double = join(defaultRunbookDir(), '..', '..', 'test', 'doubles', 'bin', 'kubectl');
    await fake(
      'kubectl',
      `USTART_DOUBLES_ROOT=${JSON.stringify(root)} USTART_DOUBLES_DIR=${JSON.stringify(state)} exec ${JSON.stringify(double)} "$@"`,
    );
  }
  const verdict = async (accepted: string) =>
    (
      await runStep(
        'umetal.ceph-cluster',
        'check.sh',
        script(
          `USTART_CEPH_ACCEPTED_WARNINGS=(${accepted})\nif ceph_healthy; then echo healthy; else echo "not healthy: $(ceph_health_checks | paste -sd' ')"; fi`,
        ),
      )
    ).stdout.trim();

  it('is healthy with HEALTH_OK', async () => {
    await cephReports('HEALTH_OK', []);
    expect(await verdict('')).toBe('healthy');
  });

  it('accepts HEALTH_WARN raised only by the checks the plan explains (few OSDs on a small site)', async () => {
    // The check as it was accepted HEALTH_OK only, so a site with two OSDs never finished.
    await cephReports('HEALTH_WARN', ['TOO_FEW_OSDS']);
    expect(await verdict('TOO_FEW_OSDS')).toBe('healthy');
    expect(await verdict('')).toBe('not healthy: HEALTH_WARN TOO_FEW_OSDS');
  });

  it('is not healthy with any other warning beside them, or an error', async () => {
    await cephReports('HEALTH_WARN', ['TOO_FEW_OSDS', 'RECENT_CRASH']);
    expect(await verdict('TOO_FEW_OSDS')).toBe(
      'not healthy: HEALTH_WARN TOO_FEW_OSDS RECENT_CRASH',
    );
    await cephReports('HEALTH_ERR', ['MON_DOWN']);
    expect(await verdict('MON_DOWN')).toBe('not healthy: HEALTH_ERR MON_DOWN');
  });
});

describe('pkg_installed (lib.sh)', () => {
  it('counts a held package as installed (dpkg reports "hold ok installed")', async () => {
    // docs/upstream-facts.md#dpkg.status-field: kubernetes-packages holds kubeadm, kubelet and
    // kubectl; the reset's check took them for removed while they were still there.
    await fake(
      'dpkg-query',
      `case "$*" in *kubelet*) printf 'hold ok installed' ;; *chrony*) printf 'install ok installed' ;; *) printf 'unknown ok not-installed' ;; esac`,
    );
    const { stdout } = await runStep(
      'reset-umetal.packages',
      'check.sh',
      script(
        'for p in kubelet chrony runc; do pkg_installed "$p" && echo "$p yes" || echo "$p no"; done',
      ),
    );
    expect(stdout.trim().split('\n')).toEqual(['kubelet yes', 'chrony yes', 'runc no']);
  });
});

describe('helm_release (lib.sh) with the chart the bill of materials pins', () => {
  /** The real rook-operator.sh, with the rendered USTART_CHART_* values and a bundle in tmp. */
  async function rookOperator(charts: string[]) {
    const bundle = join(tmp, 'bundle');
    await mkdir(join(bundle, 'charts'), { recursive: true });
    for (const c of charts) await writeFile(join(bundle, 'charts', c), 'a chart archive');
    await fake('helm', 'printf "helm %s\\n" "$*" >>"$FAKE_LOG"');
    const env = [
      ...chartFileVars().map(([n, v]) => `${n}=${shellQuote(v as string)}`),
      `USTART_BUNDLE_DIR=${shellQuote(bundle)}`,
    ].join('\n');
    const text = await readFile(join(SCRIPTS, 'umetal', 'rook-operator.sh'), 'utf8');
    return { bundle, result: await runStep('umetal.rook-operator', 'run.sh', text, `${env}\n`) };
  }
  const pinned = `rook-ceph-${bom().charts['rook-ceph']!.version}.tgz`;

  it('installs exactly that file, even beside archives of other versions', async () => {
    const { bundle, result } = await rookOperator(['rook-ceph-v1.15.5.tgz', pinned]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const helm = (await logLines()).filter((l) => l.startsWith('helm '));
    expect(helm).toEqual([
      `helm upgrade --install rook-ceph ${bundle}/charts/${pinned} --namespace rook-ceph --create-namespace --values /etc/ustart/helm/rook-ceph.yaml --wait --timeout 20m`,
    ]);
  });

  it('fails, naming both versions, when the bundle holds another version only', async () => {
    const { result } = await rookOperator(['rook-ceph-v1.15.5.tgz']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `has no charts/${pinned}, the version the bill of materials pins (it has charts/rook-ceph-v1.15.5.tgz)`,
    );
    expect(await readFile(join(tmp, 'log'), 'utf8').catch(() => '')).not.toContain('helm ');
  });
});
