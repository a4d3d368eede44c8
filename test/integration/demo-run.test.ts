/**
 * `ustart demo` end to end at high speed: the real engine, Ssh2Transport and runbook against
 * the demo lab. Every step succeeds and the journal says it was a demo; an injected failure
 * shows and its retry succeeds; an unreachable host fails the run.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertDemoPlan } from '../../src/demo/index.js';
import { readJournal, summarize } from '../../src/engine/index.js';
import { assetPath } from '../../src/util/assets.js';
import { runCli } from '../support/run-cli.js';
import { walk } from '../support/walk.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function workspace(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ustart-demo-run-'));
  dirs.push(d);
  return d;
}

async function onlyRun(dir: string) {
  const runsDir = join(dir, '.ustart', 'runs');
  const ids = (await readdir(runsDir)).filter((n) => n !== 'run.lock');
  expect(ids).toHaveLength(1);
  const { records } = await readJournal(join(runsDir, ids[0]!, 'journal.jsonl'));
  return { records, summary: summarize(records) };
}

describe('ustart demo', () => {
  it('runs the OS install (skipped: the demo hosts answer), connect, uMetal, uStack and uGarden to the end; the journal records a demo run', async () => {
    const dir = await workspace();
    const { code, out } = await runCli('demo', '--speed', '2000', '--dir', dir);
    expect(code).toBe(0);
    expect(out).toContain('[DEMO]');
    // Issue 18: the whole install in under 400 lines (4,824 before the compact view), every
    // phase named, the engine's bookkeeping only in the log files.
    const lines = out.split('\n');
    expect(lines.length).toBeLessThan(400);
    for (const phase of ['os-install', 'connect', 'umetal', 'ustack', 'ugarden']) {
      expect(lines.filter((l) => l.startsWith(`── phase ${phase} `))).toHaveLength(1);
    }
    expect(out).not.toContain('# uStart:');
    const { summary } = await onlyRun(dir);
    expect(summary.demo).toBe(true);
    expect(summary.finalState).toBe('succeeded');
    const phases = new Set([...summary.steps.values()].map((s) => s.phase));
    expect(phases).toEqual(new Set(['os-install', 'connect', 'umetal', 'ustack', 'ugarden']));
    // The demo's hosts answer on SSH (a real probe of the lab's listeners): none is installed.
    const install = summary.steps.get('umetal.os-install')!;
    expect(install.state).toBe('skipped');
    expect(install.hosts.size).toBeGreaterThan(0);
    for (const h of install.hosts.values()) expect(h.state).toBe('skipped');
    for (const step of [...summary.steps.values()].filter((s) => s.phase !== 'os-install')) {
      expect(lines.filter((l) => l.startsWith(`  ✓ ${step.id} `))).toHaveLength(1);
      expect(step.state, step.id).toBe('succeeded');
      for (const h of step.hosts.values()) expect(h.state, `${step.id}@${h}`).toBe('succeeded');
    }
    const runs = await runCli('runs', join(dir, 'demo-stuttgart.yaml'));
    expect(runs.out).toContain('[DEMO]');
    // The hosts played every step of stepSpecsFor: none ran its script through the small shell.
    const logs = (await walk(join(dir, '.ustart', 'runs'))).filter((f) => f.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(40);
    for (const log of logs) expect(await readFile(log, 'utf8'), log).not.toMatch(/: not found$/m);
  }, 240_000);

  it('--inject-failure shows the failure, then the retry succeeds', async () => {
    const dir = await workspace();
    const { code, out } = await runCli(
      'demo',
      '--speed',
      '2000',
      '--dir',
      dir,
      '--inject-failure',
      'umetal.kubeadm-init@ctl-01',
    );
    expect(code).toBe(0);
    // The failure shows its host, its log's last lines and the command for the whole log.
    expect(out).toContain('✗ umetal.kubeadm-init failed on ctl-01');
    expect(out).toContain('│ E: Could not get lock /var/lib/dpkg/lock-frontend');
    const command = /the whole log: (ustart logs .*)$/m.exec(out)?.[1];
    expect(command).toMatch(/ --step umetal\.kubeadm-init --host ctl-01$/);
    const log = await runCli(...command!.split(' ').slice(1));
    expect(log.code).toBe(0);
    expect(log.out).toContain('Could not get lock /var/lib/dpkg/lock-frontend');
    const { records, summary } = await onlyRun(dir);
    const attempts = records.filter(
      (r) =>
        r.type === 'host-step' &&
        r.stepId === 'umetal.kubeadm-init' &&
        r.host === 'ctl-01' &&
        r.state !== 'running',
    );
    expect(attempts.map((r) => r.type === 'host-step' && r.state)).toEqual(['failed', 'succeeded']);
    expect(summary.finalState).toBe('succeeded');
  }, 240_000);

  it('--json prints one JSON event per line, without host output; --verbose streams it all', async () => {
    const dir = await workspace();
    const { code, out } = await runCli('demo', '--speed', '2000', '--dir', dir, '--json');
    expect(code).toBe(0);
    const events = out
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; stepId?: string });
    const types = new Set(events.map((e) => e.type));
    for (const t of ['run-started', 'step-started', 'step-finished', 'run-finished', 'summary']) {
      expect(types).toContain(t);
    }
    expect(types).not.toContain('log');
    const { summary } = await onlyRun(dir);
    const finished = events.filter((e) => e.type === 'step-finished').map((e) => e.stepId);
    expect(new Set(finished)).toEqual(new Set(summary.steps.keys()));

    const verbose = await runCli(
      'demo',
      '--speed',
      '2000',
      '--dir',
      await workspace(),
      '--verbose',
    );
    expect(verbose.code).toBe(0);
    expect(verbose.out).toContain('# uStart: upload ');
    expect(verbose.out.split('\n').length).toBeGreaterThan(1000);
  }, 240_000);

  it('an unknown host or step in a scenario switch is refused with the valid names', async () => {
    const dir = await workspace();
    const bad = await runCli('demo', '--dir', dir, '--unreachable', 'ctl-09');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('ctl-01');
  });

  it('never runs a plan that is not a demo copy', async () => {
    await expect(assertDemoPlan(assetPath('samples', 'demo-stuttgart.yaml'))).rejects.toMatchObject(
      { code: 'DemoRefused' },
    );
  });
});
