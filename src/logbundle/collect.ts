/**
 * `collectLogBundle(runId, out)`: the log bundle of a run found by its id, with the hosts
 * reached through the transport the caller owns. The CLI (`ustart logs collect`) calls it,
 * and the UI will through the api.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultRunsDir, journalPath, runDirOf } from '../engine/run-folder.js';
import { UstartError, messageOf } from '../errors.js';
import { parsePlanText } from '../plan/index.js';
import type { Plan } from '../plan/schema.js';
import { targetFromPlan } from '../engine/plan-targets.js';
import { SshConfig } from '../ssh/ssh-config.js';
import type { HostTarget, Transport } from '../ssh/transport.js';
import {
  createLogBundle,
  type LogBundleHosts,
  type LogBundleOptions,
  type LogBundleResult,
} from './bundle.js';
import { readRegularFile } from '../util/user-file.js';

export interface CollectLogBundleOptions extends Omit<
  LogBundleOptions,
  'runDir' | 'out' | 'hosts'
> {
  /** Where the plan's runs are kept; default `.ustart/runs` next to `planFile`. */
  runsDir?: string;
  /** The site plan the run belongs to; its folder holds the runs, and it names the hosts
   *  when the run folder has no `plan.yaml`. */
  planFile?: string;
  /**
   * Reaches the hosts to collect their own logs; absent: the run folder only. The caller
   * owns it (host-key policy, credentials) and disposes of it.
   */
  transport?: Transport;
  /**
   * The hosts' SSH targets by plan host name, as the caller's transport reaches them (the
   * app's access settings, the demo lab's ports); default: the run's plan and `sshConfig`.
   */
  targets?: ReadonlyMap<string, HostTarget>;
  /** For host addresses, users and jump hosts, like `ustart run`; default ~/.ssh/config. */
  sshConfig?: SshConfig;
  /** Units, timeouts and limits of the host collection. */
  hostOptions?: Omit<LogBundleHosts, 'transport' | 'targets'>;
}

/**
 * Writes the log bundle of run `runId` to `out` (a zip, written atomically). Hosts are
 * taken from the plan as the run used it (`plan.yaml` in the run folder).
 */
export async function collectLogBundle(
  runId: string,
  out: string,
  options: CollectLogBundleOptions = {},
): Promise<LogBundleResult> {
  if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId.startsWith('.')) {
    throw new UstartError(
      'InvalidArgument',
      `"${runId}" is not a run id (see "ustart runs PLAN").`,
    );
  }
  const runsDir = options.runsDir
    ? resolve(options.runsDir)
    : options.planFile
      ? defaultRunsDir(options.planFile)
      : resolve('.ustart', 'runs');
  const runDir = runDirOf(runsDir, runId);
  if (!existsSync(journalPath(runDir))) {
    throw new UstartError(
      'RunNotFound',
      `there is no run ${runId} in ${runsDir}. Give the plan with --plan (or --runs-dir), or list runs with "ustart runs PLAN".`,
      { detail: { runId, runsDir } },
    );
  }
  const { transport, sshConfig, hostOptions, planFile } = options;
  const bundle: LogBundleOptions = { runDir, out: resolve(out) };
  for (const key of [
    'since',
    'secrets',
    'force',
    'signal',
    'onProgress',
    'version',
    'now',
  ] as const) {
    if (options[key] !== undefined) Object.assign(bundle, { [key]: options[key] });
  }
  if (transport) {
    bundle.hosts = {
      ...hostOptions,
      transport,
      targets: options.targets ?? (await targetsOfRun(runDir, planFile, sshConfig)),
    };
  }
  return createLogBundle(bundle);
}

async function targetsOfRun(
  runDir: string,
  planFile: string | undefined,
  sshConfig: SshConfig | undefined,
): Promise<Map<string, HostTarget>> {
  const plan = await planOfRun(runDir, planFile);
  const config = sshConfig ?? (await SshConfig.load());
  return new Map(plan.servers.map((s) => [s.hostname, targetFromPlan(plan, s, config)]));
}

/** The plan the run used; the current plan file when the run folder has none. */
async function planOfRun(runDir: string, planFile: string | undefined): Promise<Plan> {
  const candidates = [join(runDir, 'plan.yaml'), ...(planFile ? [resolve(planFile)] : [])];
  const problems: string[] = [];
  for (const file of candidates) {
    let text: string;
    try {
      text = await readRegularFile(file, { what: 'plan', encoding: 'utf8' });
    } catch (e) {
      problems.push(`${file}: ${messageOf(e)}`);
      continue;
    }
    try {
      const parsed = parsePlanText(text, file);
      if (parsed.plan) return parsed.plan;
      problems.push(`${file}: ${parsed.findings.length} schema errors`);
    } catch (e) {
      problems.push(messageOf(e));
    }
  }
  throw new UstartError(
    'PlanUnreadable',
    `cannot find the hosts of this run: ${problems.join('; ')}. Give the site plan with --plan, or collect without host logs (--no-hosts).`,
  );
}

const SINCE_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `--since`: a duration back from now (`90m`, `6h`, `2d`) or a date and time
 * (`2026-11-27T14:00Z`). Returns epoch ms.
 */
export function parseSince(text: string, now: number = Date.now()): number {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (m) return now - Number(m[1]) * SINCE_UNITS[m[2]!]!;
  const at = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(at)) return at;
  throw new UstartError(
    'InvalidArgument',
    `--since ${text}: give a duration such as 90m, 6h or 2d, or a date such as 2026-11-27T14:00Z.`,
  );
}
