/**
 * `ustart run` as a real process against lab hosts: a second run is refused with the
 * owner shown, a SIGKILL mid-run leaves a journal that `--resume` finishes without
 * running completed steps again, and `ustart runs` / `ustart logs` read the result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns, readJournal, summarize } from '../../src/engine/index.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';

const available = labAvailable();
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ustart.mjs');

interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stdout matches `pattern`. */
  waitFor: (pattern: RegExp) => Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe.skipIf(!available)('ustart run (CLI process) on lab hosts', () => {
  let lab: Lab;
  let tmp: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-engine-cli-'));
    lab = await createLab({ hosts: 2 });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await lab?.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  function ustart(args: string[]): Cli {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        XDG_CONFIG_HOME: join(tmp, 'config'),
        SSH_AUTH_SOCK: '',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    const waiters: { pattern: RegExp; resolve: () => void }[] = [];
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      for (const w of [...waiters]) {
        if (w.pattern.test(out)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    return {
      child,
      stdout: () => out,
      stderr: () => err,
      waitFor: (pattern) =>
        pattern.test(out)
          ? Promise.resolve()
          : new Promise<void>((resolve, reject) => {
              waiters.push({ pattern, resolve });
              void exit.then(() =>
                reject(new Error(`ustart exited before printing ${pattern}:\n${out}\n${err}`)),
              );
            }),
      exit,
    };
  }

  const countOn = async (i: number, name: string) =>
    Number((await lab.exec(i, `cat /root/cli-count-${name} 2>/dev/null | wc -l`)).stdout.trim());

  it(
    'refuses a second run with the owner shown; survives kill -9 and resumes without repeating steps',
    { timeout: 120_000 },
    async () => {
      const graph = join(tmp, 'graph.json');
      await writeFile(
        graph,
        JSON.stringify([
          {
            id: 'one',
            title: 'one',
            phase: 't',
            targets: 'all',
            run: 'echo x >> /root/cli-count-one',
          },
          {
            id: 'two',
            title: 'two',
            phase: 't',
            targets: 'all',
            after: ['one'],
            check: 'test -e /root/cli-two-done',
            run: 'echo x >> /root/cli-count-two; echo two-started; while [ ! -e /root/cli-go ]; do sleep 0.05; done; touch /root/cli-two-done',
          },
          {
            id: 'three',
            title: 'three',
            phase: 't',
            targets: 'all',
            after: ['two'],
            run: 'echo x >> /root/cli-count-three',
          },
        ]),
      );
      const common = [
        lab.planPath,
        '--graph',
        graph,
        '-i',
        lab.clientKeyPath,
        '--known-hosts',
        lab.knownHostsPath,
      ];
      const first = ustart(['run', ...common, '--verbose']);
      // With --verbose, output lines are `<host padded> │ <line>`.
      for (const h of lab.hosts) await first.waitFor(new RegExp(`${h.name} +│ two-started`));
      const runId = /run (\d{8}-\d{6}-[0-9a-f]+)/.exec(first.stdout())![1]!;

      const second = ustart(['run', ...common]);
      expect((await second.exit).code).toBe(2);
      expect(second.stderr()).toContain('another run of this plan is going on');
      expect(second.stderr()).toContain(`pid ${first.child.pid}`);
      expect(second.stderr()).toContain(runId);

      // Another laptop (its own runs folder) meets the cluster lock on the first controller.
      const elsewhere = ustart(['run', ...common, '--runs-dir', join(tmp, 'other-laptop')]);
      expect((await elsewhere.exit).code).toBe(2);
      expect(elsewhere.stderr()).toContain('the cluster is locked by another run');
      expect(elsewhere.stderr()).toContain(`pid ${first.child.pid}`);
      expect(await listRuns(join(tmp, 'other-laptop'))).toEqual([]);

      first.child.kill('SIGKILL');
      expect((await first.exit).signal).toBe('SIGKILL');
      const journal = join(lab.dir, '.ustart', 'runs', runId, 'journal.jsonl');
      const crashed = summarize((await readJournal(journal)).records);
      expect(crashed.finalState).toBeUndefined();
      expect(crashed.steps.get('one')!.state).toBe('succeeded');
      expect([...crashed.steps.get('two')!.hosts.values()].map((h) => h.state)).toEqual([
        'running',
        'running',
      ]);

      const listed = ustart(['runs', lab.planPath]);
      expect((await listed.exit).code).toBe(0);
      expect(listed.stdout()).toMatch(new RegExp(`${runId}.*interrupted`));

      for (const h of lab.hosts) await lab.exec(h.index, 'touch /root/cli-go');
      const resumed = ustart(['run', ...common, '--resume', runId]);
      const { code } = await resumed.exit;
      expect(code, resumed.stdout() + resumed.stderr()).toBe(0);
      expect(resumed.stdout()).toContain(`run ${runId} succeeded`);
      for (const h of lab.hosts) {
        expect(await countOn(h.index, 'one')).toBe(1);
        expect(await countOn(h.index, 'three')).toBe(1);
        // Killed with its client, step two either finished (check passes) or ran again.
        expect(await countOn(h.index, 'two')).toBeGreaterThanOrEqual(1);
      }
      const { records, torn } = await readJournal(journal);
      expect(torn).toBe(false);
      const summary = summarize(records);
      expect(summary.finalState).toBe('succeeded');
      expect(records.filter((r) => r.type === 'run-resumed')).toHaveLength(1);
      for (const step of summary.steps.values()) {
        for (const h of step.hosts.values()) expect(['succeeded', 'skipped']).toContain(h.state);
      }

      const logs = ustart(['logs', runId, '--plan', lab.planPath, '--step', 'two']);
      expect((await logs.exit).code).toBe(0);
      expect(logs.stdout()).toContain(`${lab.hosts[1]!.name} two │ two-started`);
    },
  );

  it(
    'cancels cleanly on Ctrl-C (SIGINT) and prints how to resume',
    { timeout: 60_000 },
    async () => {
      const graph = join(tmp, 'sigint.json');
      await writeFile(
        graph,
        JSON.stringify([
          {
            id: 'wait',
            title: 'wait',
            phase: 't',
            targets: 'all',
            run: 'echo $$ > /root/sigint-pid; echo waiting; exec sleep 600',
          },
        ]),
      );
      const runsDir = join(tmp, 'sigint-runs');
      const run = ustart([
        'run',
        '--verbose',
        lab.planPath,
        '--graph',
        graph,
        '-i',
        lab.clientKeyPath,
        '--known-hosts',
        lab.knownHostsPath,
        '--runs-dir',
        runsDir,
      ]);
      for (const h of lab.hosts) await run.waitFor(new RegExp(`${h.name} +│ waiting`));
      const runId = /run (\d{8}-\d{6}-[0-9a-f]+)/.exec(run.stdout())![1]!;
      run.child.kill('SIGINT');
      expect((await run.exit).code).toBe(1);
      expect(run.stdout()).toContain(`--resume ${runId}`);
      expect(run.stderr()).toContain('cancelling');
      const { records } = await readJournal(join(runsDir, runId, 'journal.jsonl'));
      const summary = summarize(records);
      expect(summary.finalState).toBe('cancelled');
      expect(summary.counts.cancelled).toBe(lab.hosts.length);
      for (const h of lab.hosts) {
        const gone = await lab.exec(
          h.index,
          'kill -0 "$(cat /root/sigint-pid)" 2>/dev/null; echo $?',
        );
        expect(gone.stdout.trim()).toBe('1');
      }
    },
  );
});
