/**
 * Rendering a runbook for a plan: for every step and every host it runs on, the files the
 * engine uploads (scripts, the host's env file, generated configuration) and the commands
 * it runs. The same function feeds `ustart render` (written to a folder for people to read)
 * and the engine's step specs, so what a consultant reviews is exactly what runs.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inputVariable } from '../engine/types.js';
import { UstartError } from '../errors.js';
import type { Plan, Server } from '../plan/schema.js';
import type { Runbook, RunbookStep } from '../runbook/load.js';
import { hostContext, type HostContext, REMOTE, serversOf, siteContext } from './context.js';
import { GENERATORS } from './generators/index.js';
import { hostEnvFile } from './host-env.js';

/** One file the engine puts on a host. */
export interface RemoteFile {
  /** Absolute path on the host. */
  path: string;
  content: string;
  /** Octal mode, such as 0o644. */
  mode: number;
  owner: string;
}

/** One step on one host: what is uploaded and what is run. */
export interface HostStep {
  stepId: string;
  host: string;
  uploads: RemoteFile[];
  /** Exit 0: already done, skip. Also makes the upload folders (see stepCommands). */
  check: string;
  run: string;
}

export interface RenderedStep {
  step: RunbookStep;
  hosts: string[];
  /** Digest of every upload of the step (see stepCommands). */
  digest: string;
  perHost: HostStep[];
}

/** Where a step's scripts live on every host. */
export function stepDir(stepId: string): string {
  return `${REMOTE.steps}/${stepId}`;
}

/** Where a host's own files for a step live (see docs/runbook-format.md, "On the host"). */
export function hostStepDir(host: string, stepId: string): string {
  return `${REMOTE.hosts}/${host}/steps/${stepId}`;
}

export function hostEnvPath(host: string): string {
  return `${REMOTE.hosts}/${host}/env`;
}

/** Name of the variable an input arrives in (docs/runbook-format.md, "inputs"). */
export { inputVariable };

/**
 * The commands the engine runs for a step (the same on every host). The engine runs `check`
 * before it uploads anything, so the check first compares the digest of the step's uploads
 * with the one the last upload left on the host: a host that has older files (or none) is
 * never skipped. The transport does not create folders for an upload, so the check also
 * makes the upload folders (`folders`); a step without its own check gets one that only
 * does that and then says "not done".
 */
export function stepCommands(
  step: RunbookStep,
  digest: string,
  folders: readonly string[],
): { check: string; run: string } {
  const dir = stepDir(step.id);
  // Inputs arrive as shell variables (read by the engine from stdin); export them for run.sh.
  const exports = step.inputs.map((n) => `export ${inputVariable(n)}; `).join('');
  const mkdir = `mkdir -p ${[...folders].sort().join(' ')}`;
  return {
    check: step.check
      ? `${mkdir} && test "$(cat ${dir}/uploads.sha256 2>/dev/null)" = ${digest} && bash ${dir}/check.sh`
      : `${mkdir} && false`,
    run: `${exports}bash ${dir}/run.sh`,
  };
}

/** SHA-256 over the uploads' paths and contents, in path order. */
export function uploadsDigest(uploads: readonly RemoteFile[]): string {
  const hash = createHash('sha256');
  for (const u of [...uploads].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${u.path}\0${u.mode}\0${u.owner}\0`).update(u.content).update('\0');
  }
  return hash.digest('hex');
}

/** Wraps an inline `check.command` so it runs with lib.sh and the env loaded, like a script. */
function inlineCheck(command: string): string {
  return [
    '#!/usr/bin/env bash',
    '# uStart: the check of this step, from its runbook YAML.',
    'set -euo pipefail',
    `. ${REMOTE.lib}`,
    command.trimEnd(),
    '',
  ].join('\n');
}

export class Renderer {
  private readonly scripts = new Map<string, string>();
  readonly site;

  private constructor(
    readonly plan: Plan,
    readonly runbook: Runbook,
    private readonly lib: string,
  ) {
    this.site = siteContext(plan);
  }

  /** Reads the runbook's scripts once; rendering itself is then pure and synchronous. */
  static async create(plan: Plan, runbook: Runbook): Promise<Renderer> {
    // A customer runbook may bring its own lib.sh; the last directory that has one wins.
    let lib: string | undefined;
    for (const dir of [...runbook.dirs].reverse()) {
      lib = await readFile(join(dir, 'scripts', 'lib.sh'), 'utf8').catch(() => undefined);
      if (lib !== undefined) break;
    }
    if (lib === undefined) {
      throw new UstartError(
        'RunbookInvalid',
        `no scripts/lib.sh in ${runbook.dirs.join(' or ')}; every runbook needs the shared script library`,
      );
    }
    const renderer = new Renderer(plan, runbook, lib);
    for (const step of runbook.steps) {
      const files = [step.runFile, step.checkFile, ...step.files.map((f) => f.sourceFile)];
      for (const file of files) {
        if (file && !renderer.scripts.has(file)) renderer.scripts.set(file, await readText(file));
      }
    }
    return renderer;
  }

  hostsOf(step: RunbookStep): Server[] {
    return serversOf(this.site, step.target);
  }

  context(server: Server): HostContext {
    return hostContext(this.site, server);
  }

  /** The files one host gets for a step (without the digest marker). */
  hostUploads(step: RunbookStep, server: Server): RemoteFile[] {
    const ctx = this.context(server);
    const host = server.hostname;
    const dir = stepDir(step.id);
    const own = hostStepDir(host, step.id);
    const uploads: RemoteFile[] = [
      { path: REMOTE.lib, content: this.lib, mode: 0o644, owner: 'root:root' },
      { path: hostEnvPath(host), content: hostEnvFile(ctx), mode: 0o644, owner: 'root:root' },
      { path: `${dir}/run.sh`, content: this.text(step.runFile), mode: 0o755, owner: 'root:root' },
    ];
    if (step.check) {
      const content =
        'script' in step.check ? this.text(step.checkFile!) : inlineCheck(step.check.command);
      uploads.push({ path: `${dir}/check.sh`, content, mode: 0o755, owner: 'root:root' });
    }
    const table: string[] = [];
    for (const file of step.files) {
      const staged = file.path.slice(1);
      const content = file.generate
        ? this.generate(file.generate, ctx, step)
        : this.text(file.sourceFile!);
      uploads.push({ path: `${own}/files/${staged}`, content, mode: 0o600, owner: 'root:root' });
      table.push([staged, file.path, file.mode, file.owner].join('\t'));
    }
    if (table.length > 0) {
      uploads.push({
        path: `${own}/files.tsv`,
        content: table.join('\n') + '\n',
        mode: 0o644,
        owner: 'root:root',
      });
    }
    return uploads;
  }

  /**
   * Every host's uploads and the commands. All hosts of a step share one digest and one
   * command, because the engine sends the same command to each host.
   */
  renderStep(step: RunbookStep): RenderedStep {
    const servers = this.hostsOf(step);
    if (step.local !== undefined) {
      // A built-in action done on this machine (docs/runbook-format.md, "Local steps"):
      // nothing is uploaded and nothing runs on the host; the command only says so.
      const run = localRun(step.local);
      return {
        step,
        hosts: servers.map((s) => s.hostname),
        digest: '',
        perHost: servers.map((s) => ({
          stepId: step.id,
          host: s.hostname,
          uploads: [],
          check: '',
          run,
        })),
      };
    }
    const uploads = servers.map((s) => this.hostUploads(step, s));
    const all = new Map<string, RemoteFile>();
    for (const u of uploads.flat()) all.set(u.path, u);
    const digest = uploadsDigest([...all.values()]);
    const marker: RemoteFile = {
      path: `${stepDir(step.id)}/uploads.sha256`,
      content: digest,
      mode: 0o644,
      owner: 'root:root',
    };
    const folders = new Set([...all.keys()].map((p) => p.slice(0, p.lastIndexOf('/'))));
    const commands = stepCommands(step, digest, [...folders]);
    return {
      step,
      hosts: servers.map((s) => s.hostname),
      digest,
      perHost: servers.map((s, i) => ({
        stepId: step.id,
        host: s.hostname,
        // The marker goes last: when it holds this digest, every upload before it arrived.
        uploads: [...uploads[i]!, marker],
        ...commands,
      })),
    };
  }

  /** Every step of the runbook (or of one phase), in order. */
  renderAll(phase?: string): RenderedStep[] {
    return this.runbook.steps
      .filter((s) => phase === undefined || s.phase === phase)
      .map((s) => this.renderStep(s));
  }

  private generate(name: string, ctx: HostContext, step: RunbookStep): string {
    const generator = GENERATORS[name];
    if (!generator) {
      throw new UstartError(
        'RunbookInvalid',
        `step "${step.id}" (${step.source.file}) names generator "${name}", which this uStart does not have`,
      );
    }
    return generator(ctx);
  }

  private text(file: string): string {
    const text = this.scripts.get(file);
    if (text === undefined) throw new Error(`script ${file} was not read`);
    return text;
  }
}

/** What a local step shows as its command: it runs on this machine, not on the host. */
export function localRun(action: string): string {
  return `# uStart local action "${action}": done from this machine, nothing runs on the host (docs/runbook-format.md, "Local steps")`;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new UstartError('RunbookInvalid', `cannot read ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
