/**
 * One attempt of a host-less step (`StepSpec.hostless`) on one host: done from this machine
 * with no connection to the host, which has no SSH server yet (the OS install through its
 * BMC). The engine's connection pool is never asked for this host here. The states are those
 * of every step: the check's `true` skips, a throw fails (retryable), the consultant's kill
 * and the run's cancel end it `cancelled`, a hard timeout aborts it and fails it, and a
 * resumed host-step without a check ends `unknown` unless idempotent or named by --rerun.
 */
import { messageOf } from '../errors.js';
import { mayRerun } from './decisions.js';
import type { HostLog } from './host-log.js';
import type { AttemptResult } from './host-step.js';
import type { HostRun, RunContext } from './run-state.js';
import type { HostlessContext, StepSpec } from './types.js';

export async function runHostless(
  ctx: RunContext,
  spec: StepSpec,
  host: string,
  h: HostRun,
  log: HostLog,
  softTimeout: () => (() => void) | undefined,
): Promise<AttemptResult> {
  const action = spec.hostless!;
  const kill = h.kill!.signal;
  const hardMs = spec.timeout?.mode === 'hard' ? spec.timeout.ms : undefined;
  const hard = new AbortController();
  const stopHard =
    hardMs === undefined ? undefined : ctx.clock.setTimeout(() => hard.abort(), hardMs);
  const signal = AbortSignal.any([kill, hard.signal]);
  const context: HostlessContext = { host, signal, log: (line) => log.note(line) };
  const ended = (what: 'check' | 'run', e: unknown): AttemptResult => {
    if (kill.aborted) {
      return {
        state: 'cancelled',
        message: ctx.abort.signal.aborted ? 'cancelled' : 'killed by the consultant',
      };
    }
    if (hard.signal.aborted) {
      return {
        state: 'failed',
        message: `${what} ran longer than its hard timeout of ${hardMs! < 1000 ? `${hardMs} ms` : `${Math.round(hardMs! / 1000)} s`} and was stopped`,
        retryable: true,
      };
    }
    return { state: 'failed', message: `${what}: ${messageOf(e)}`, retryable: true };
  };
  const stopWarning = softTimeout();
  try {
    if (action.check) {
      log.note(`# uStart: check (on this machine): ${spec.localAction ?? spec.id}`);
      let done: boolean;
      try {
        done = await action.check(context);
      } catch (e) {
        return ended('check', e);
      }
      if (kill.aborted) return ended('check', undefined);
      if (done) return { state: 'skipped', message: 'check passed: already done' };
      log.note('# uStart: check says not done: running the step');
    } else if (h.interrupted && !spec.idempotent && !mayRerun(ctx.opts.rerun, spec.id, host)) {
      return {
        state: 'unknown',
        message: `step ${spec.id} was interrupted on ${host} in an earlier run; it has no check and is not idempotent, so uStart cannot tell whether it ran. Look at the host, then resume with --rerun ${spec.id}@${host} to run it again, or --skip ${spec.id}=<reason> if it is done.`,
      };
    }
    h.interrupted = false;
    try {
      await action.run(context);
    } catch (e) {
      return ended('run', e);
    }
    if (kill.aborted) return ended('run', undefined);
    return { state: 'succeeded' };
  } finally {
    stopWarning?.();
    stopHard?.();
  }
}
