/**
 * The quality rules of the runbook's scripts (docs/runbook-format.md, "Rules for scripts"),
 * checked on every script of the default runbook: ShellCheck, strict mode, plain-words
 * output, no orphan scripts, and no secret-carrying flag on a command line.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATOR_NAMES } from '../render/generators/index.js';
import { defaultRunbookDir, loadRunbook, type Runbook } from './load.js';

const ROOT = defaultRunbookDir();
const SCRIPTS = join(ROOT, 'scripts');
let runbook: Runbook;
let scripts: string[];
let tmp: string;

beforeAll(async () => {
  runbook = await loadRunbook([ROOT], { generators: GENERATOR_NAMES });
  scripts = (await readdir(SCRIPTS, { recursive: true }))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join(SCRIPTS, f))
    .sort();
  tmp = await mkdtemp(join(tmpdir(), 'ustart-scripts-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** ShellCheck over `files`, two processes at once (each script pulls in lib.sh: ~1 s a file). */
async function shellcheck(files: string[]): Promise<{ status: number; output: string }> {
  const halves = [files.filter((_, i) => i % 2 === 0), files.filter((_, i) => i % 2 === 1)];
  const results = await Promise.all(
    halves
      .filter((h) => h.length > 0)
      .map(
        (half) =>
          new Promise<{ status: number; output: string }>((resolve, reject) => {
            const child = spawn('shellcheck', ['--format=gcc', ...half]);
            let output = '';
            child.stdout.on('data', (b: Buffer) => (output += b.toString()));
            child.stderr.on('data', (b: Buffer) => (output += b.toString()));
            child.on('error', (e) =>
              reject(
                new Error(`shellcheck could not run (${e.message}); install it (.ci/run does)`),
              ),
            );
            child.on('close', (code) => resolve({ status: code ?? -1, output }));
          }),
      ),
  );
  return {
    status: Math.max(...results.map((r) => r.status)),
    output: results.map((r) => r.output).join(''),
  };
}

describe('runbook scripts', () => {
  it('all pass shellcheck', { timeout: 300_000 }, async () => {
    expect(scripts.length).toBeGreaterThan(50);
    const { status, output } = await shellcheck(scripts);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it(
    'inline checks pass shellcheck too, wrapped as the renderer wraps them',
    { timeout: 120_000 },
    async () => {
      await mkdir(join(tmp, 'checks'));
      await copyFile(join(ROOT, '.shellcheckrc'), join(tmp, '.shellcheckrc'));
      await copyFile(join(SCRIPTS, 'lib.sh'), join(tmp, 'lib.sh'));
      await copyFile(join(SCRIPTS, 'env.sample'), join(tmp, 'env.sample'));
      const files: string[] = [];
      for (const step of runbook.steps) {
        if (!step.check || !('command' in step.check)) continue;
        const file = join(tmp, 'checks', `${step.id}.sh`);
        // The same wrapper as src/render/render.ts, with ShellCheck told where lib.sh is.
        const text = `#!/usr/bin/env bash\nset -euo pipefail\n# shellcheck source=lib.sh\n. /var/lib/ustart/lib.sh\n${step.check.command}\n`;
        await writeFile(file, text);
        files.push(file);
      }
      expect(files.length).toBeGreaterThan(5);
      const { status, output } = await shellcheck(files);
      expect(output).toBe('');
      expect(status).toBe(0);
    },
  );

  it('start with a shebang and a comment, run in strict mode and load lib.sh', async () => {
    for (const file of scripts.filter((f) => !f.endsWith('/lib.sh'))) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      const name = relative(ROOT, file);
      expect(lines[0], name).toBe('#!/usr/bin/env bash');
      expect(lines[1], name).toMatch(/^# \S/);
      const strict = lines.indexOf('set -euo pipefail');
      expect(strict, name).toBeGreaterThan(1);
      expect(
        lines.slice(1, strict).every((l) => l.startsWith('#')),
        name,
      ).toBe(true);
      expect(lines.slice(strict).join('\n'), name).toContain('. /var/lib/ustart/lib.sh');
      expect((await stat(file)).mode & 0o111, `${name} is executable`).not.toBe(0);
    }
    expect(await readFile(join(SCRIPTS, 'lib.sh'), 'utf8')).toContain('\nset -euo pipefail\n');
  });

  it('say what they do in plain words', async () => {
    const speaking = /\b(say|die|helm_release|install_step_files|wait_for)\b/;
    // A local step (the OS install) has no script: uStart's own code does it.
    for (const step of runbook.steps.filter((s) => s.local === undefined)) {
      expect(await readFile(step.runFile, 'utf8'), step.id).toMatch(speaking);
    }
  });

  it('are each used by a step (no forgotten scripts)', () => {
    const used = new Set(runbook.steps.flatMap((s) => [s.runFile, s.checkFile]));
    const orphans = scripts.filter((f) => !f.endsWith('/lib.sh') && !used.has(f));
    expect(orphans.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('check without changing anything: no file installed, no step run, nothing applied', async () => {
    const forbidden =
      /\b(install_step_files|helm_release|apt_install|apt_purge|write_hosts_block)\b|run\.sh|kubectl (apply|create|delete|label|taint)\b/;
    const checks = runbook.steps.filter((s) => s.check);
    expect(checks.length).toBeGreaterThan(10);
    for (const step of checks) {
      const text =
        'script' in step.check! ? await readFile(step.checkFile!, 'utf8') : step.check!.command;
      expect(text.match(forbidden)?.[0], step.id).toBeUndefined();
    }
  });

  it('never put a secret on a command line', async () => {
    const flags = /--(token|password|certificate-key|discovery-token-ca-cert-hash)[ =]/;
    for (const file of [...scripts]) {
      const text = await readFile(file, 'utf8');
      expect(
        text.split('\n').filter((l) => !l.trim().startsWith('#') && flags.test(l)),
        file,
      ).toEqual([]);
    }
  });
});
