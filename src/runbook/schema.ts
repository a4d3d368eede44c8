/**
 * The runbook file format: YAML files under a runbook directory, each declaring steps of one
 * phase. This schema is the public format (documented for people in docs/runbook-format.md);
 * the loader in ./load.ts adds what a schema cannot check (references between steps, cycles,
 * files on disk) and reports every problem with its file and line.
 */
import { z } from 'zod';
import { Role } from '../plan/schema.js';

/**
 * A phase's name as steps and runs name it: an id the runbook declares in `phases.yaml`
 * (PhaseDecl), or `reset-<id>` for the reset of an install phase that declares `reset: true`.
 * Which names exist is data: the loader (./phases.ts) checks every step's phase against them.
 */
export const Phase = z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, {
  error: 'must be a phase id: lower-case letters and digits joined by "-", such as umetal',
});
export type Phase = z.infer<typeof Phase>;

/** The prefix of a reset phase's name: `reset-umetal` removes what `umetal` installed. */
export const RESET_PREFIX = 'reset-';

/** The id of a declared phase; `reset-` is kept for the reset phases the loader derives. */
export const PhaseId = Phase.refine((id) => !id.startsWith(RESET_PREFIX), {
  error: `must not start with "${RESET_PREFIX}": declare the install phase with "reset: true" instead`,
});

/**
 * One phase of `phases.yaml`, in run order (docs/runbook-format.md, "Phases"). The fronts
 * show `label`; `readOnly` marks a phase that changes nothing on the hosts (connect), so a
 * run of only such phases needs no cluster lock or bundle; `reset: true` says the runbook
 * has a `reset-<id>` phase that removes what this one installed; `needs` names the earlier
 * phases whose result this one builds on; `onRequest` keeps it out of a run that names no
 * phases (the OS install, which needs run inputs).
 */
export const PhaseDecl = z.strictObject({
  id: PhaseId,
  label: z.strictObject({ en: z.string().min(1), de: z.string().min(1) }),
  readOnly: z.boolean().default(false),
  reset: z.boolean().default(false),
  needs: z.array(PhaseId).default([]),
  /**
   * Run only when a run names it (`--phase os-install`): a run of "the install phases"
   * leaves it out, because it needs inputs the plan does not hold.
   */
  onRequest: z.boolean().default(false),
});
export type PhaseDecl = z.infer<typeof PhaseDecl>;

/** `phases.yaml`: the runbook's phases, in the order an install runs them. */
export const PhasesFile = z.strictObject({
  phases: z.array(PhaseDecl).min(1, { error: 'declare at least one phase' }),
});
export type PhasesFile = z.infer<typeof PhasesFile>;

/** `90s`, `15m`, `2h`: a duration as people write it, turned into milliseconds. */
export const Duration = z
  .string()
  .regex(/^\d+(s|m|h)$/, { error: 'must be a duration such as 90s, 15m or 2h' })
  .transform((text) => {
    const n = Number(text.slice(0, -1));
    const unit = text.at(-1);
    return n * (unit === 's' ? 1_000 : unit === 'm' ? 60_000 : 3_600_000);
  });

/**
 * When a step takes too long. `soft`: warn and keep waiting, the consultant decides. `hard`:
 * kill the remote process and fail the step. A plain duration is a soft timeout, because a
 * long install that is killed half-way is worse than one that is slow.
 */
export const Timeout = z.union([
  Duration.transform((ms) => ({ ms, mode: 'soft' as 'soft' | 'hard' })),
  z.strictObject({ after: Duration, mode: z.enum(['soft', 'hard']) }).transform((t) => ({
    ms: t.after,
    mode: t.mode,
  })),
]);
export type Timeout = z.infer<typeof Timeout>;

/**
 * Which hosts a step runs on. `first-controller` is the first controller in the plan's
 * server order; `other-controllers` every other one; `workers` every server with roles but
 * without `controller`; `{ roles: [...] }` every server holding any of those roles.
 */
export const NAMED_TARGETS = ['all', 'first-controller', 'other-controllers', 'workers'] as const;
export const Target = z.union([
  z.enum(NAMED_TARGETS),
  z.strictObject({ roles: z.array(Role).min(1, { error: 'name at least one role' }) }),
]);
export type Target = z.infer<typeof Target>;

/** A path inside the runbook directory: relative, no `..`, forward slashes. */
const RunbookPath = z.string().regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/, {
  error: 'must be a path relative to the runbook directory, such as scripts/umetal/swap-off.sh',
});

/** An absolute path on a host; no `..`, no spaces or shell characters. */
const RemotePath = z.string().regex(/^\/(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/@+-]+$/, {
  error: 'must be an absolute path on the host such as /etc/containerd/config.toml',
});

/** Exit 0 means "already done": the step is skipped on that host. */
export const Check = z.union([
  z.strictObject({ script: RunbookPath }),
  z.strictObject({ command: z.string().min(1) }),
]);
export type Check = z.infer<typeof Check>;

/**
 * A file the step installs. `generate` names a generator in src/render (structured files such
 * as the kubeadm configuration, built from the plan); `source` copies a file of the runbook
 * directory as it is. Files are staged under the step's folder on the host and installed by
 * the step's script (`install_step_files`), so `check` can compare staged and installed.
 */
export const StepFile = z
  .strictObject({
    path: RemotePath,
    generate: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .optional(),
    source: RunbookPath.optional(),
    mode: z
      .string()
      .regex(/^0[0-7]{3}$/, { error: 'must be an octal mode written as a string, such as "0644"' })
      .default('0644'),
    owner: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/, { error: 'must be user:group' })
      .default('root:root'),
  })
  .refine((f) => (f.generate === undefined) !== (f.source === undefined), {
    error: 'give exactly one of generate or source',
  });
export type StepFile = z.infer<typeof StepFile>;

/**
 * A file a step leaves on its host for later steps on other hosts (the kubeadm join
 * material, gathered facts). The engine reads it after the step; a `secret` output is kept
 * in memory only, never written to a log or the journal.
 */
export const StepOutput = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/),
  path: RemotePath,
  secret: z.boolean().default(false),
});
export type StepOutput = z.infer<typeof StepOutput>;

export const StepId = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$/, {
  error: 'must be lower-case words joined by "-" and ".", such as umetal.kubeadm-init',
});

export const StepDecl = z.strictObject({
  /** Unique across the runbook; a customer runbook replaces a step by reusing its id. */
  id: StepId,
  /** One line for the UI and logs, such as "Turn swap off". */
  title: z.string().min(1),
  /** Defaults to the file's `phase`. */
  phase: Phase.optional(),
  /** A few sentences for the UI: what the step changes and why. */
  description: z.string().min(1),
  target: Target,
  /** Steps of the same phase that must have finished on all their hosts first. */
  after: z.array(StepId).default([]),
  /** How many hosts run the step at once; `all` (default) means no limit. */
  parallelism: z.union([z.int().min(1), z.literal('all')]).default('all'),
  timeout: Timeout.default({ ms: 600_000, mode: 'soft' }),
  /** Extra attempts after a failure, on the failing host only. */
  retries: z.int().min(0).max(10).default(0),
  check: Check.optional(),
  /** The script that does the work; a step has either `run` or `local`. */
  run: RunbookPath.optional(),
  /**
   * A built-in action done from this machine instead of a script (./local-actions.ts, such
   * as `os-install`): no connection to the hosts is opened, so such a step has no `check`,
   * `files`, `outputs` or `inputs` of its own.
   */
  local: z
    .string()
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, { error: 'must be an action name such as os-install' })
    .optional(),
  files: z.array(StepFile).default([]),
  outputs: z.array(StepOutput).default([]),
  /** Outputs of earlier steps uploaded to this step's hosts under /var/lib/ustart/in/NAME. */
  inputs: z.array(z.string().regex(/^[a-z0-9-]+$/)).default([]),
});
export type StepDecl = z.infer<typeof StepDecl>;

/** One runbook file. */
export const RunbookFile = z.strictObject({
  /** The phase of every step in this file that does not name its own. */
  phase: Phase.optional(),
  steps: z.array(StepDecl).default([]),
  /** Step ids of an earlier runbook directory to drop (customer runbooks only). */
  remove: z.array(StepId).default([]),
});
export type RunbookFile = z.infer<typeof RunbookFile>;
