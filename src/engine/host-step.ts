/**
 * Host-step execution: one step on one host, attempt after attempt. Connects through the
 * pool, feeds secrets and inputs on stdin, runs the check, the uploads and the command (or
 * the step's local function; a host-less step opens no connection, hostless-step.ts), enforces soft and hard timeouts and the consultant's kill,
 * maps each outcome to a state (a lost connection is never `failed` or `succeeded`), reads
 * outputs back, and writes the host log, the journal and the events as it goes.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isUstartError, messageOf, unreachable } from '../errors.js';
import type { ExecOutcome, HostConnection } from '../ssh/transport.js';
import { shQuote } from '../util/sh-quote.js';
import { sleep } from './clock.js';
import { mayRerun } from './decisions.js';
import { HostLog } from './host-log.js';
import { runHostless } from './hostless-step.js';
import { logPath } from './run-folder.js';
import type { HostRun, RunContext, StepRun } from './run-state.js';
import { StepOutputs } from './step-outputs.js';
import { inputVariable, type State, type StepSpec, type StepUpload } from './types.js';

/** How one attempt ended, as journaled and emitted. */
export interface AttemptResult {
  state: State;
  exitCode?: number;
  signal?: string;
  message?: string;
  retryable?: boolean;
}

const defaultRetryDelay = (attempt: number) => Math.min(2000 * 2 ** (attempt - 2), 60_000);

export class HostStepRunner {
  private readonly outputs: StepOutputs;

  constructor(private readonly ctx: RunContext) {
    this.outputs = new StepOutputs(ctx);
  }

  /** Runs `step` on `host` with its retries; never throws for the host's own failures. */
  async run(step: StepRun, host: string): Promise<void> {
    const { ctx } = this;
    const spec = step.spec;
    const h = step.host.get(host)!;
    const retries = spec.retries ?? 0;
    await mkdir(join(ctx.runDir, 'logs', spec.id), { recursive: true });
    const log = new HostLog({
      file: logPath(ctx.runDir, spec.id, host),
      redactor: ctx.redactor,
      batchMs: ctx.opts.logBatchMs,
      emit: (stream, data) => ctx.emit({ type: 'log', stepId: spec.id, host, stream, data }),
    });
    try {
      for (let tries = 0; ; tries++) {
        h.attempt++;
        h.state = 'running';
        h.kill = new AbortController();
        if (ctx.abort.signal.aborted) h.kill.abort();
        await ctx.write({
          type: 'host-step',
          at: ctx.clock.now(),
          stepId: spec.id,
          host,
          state: 'running',
          attempt: h.attempt,
        });
        ctx.emit({ type: 'host-step-started', stepId: spec.id, host, attempt: h.attempt });
        log.note(
          `# uStart: step ${spec.id} on ${host}, attempt ${h.attempt}, ${new Date(ctx.clock.now()).toISOString()}`,
        );
        const result = await this.attempt(step, host, h, log);
        h.state = result.state;
        h.kill = undefined;
        if (result.message) log.note(`# uStart: ${result.message}`);
        log.flush();
        await ctx.write({
          type: 'host-step',
          at: ctx.clock.now(),
          stepId: spec.id,
          host,
          attempt: h.attempt,
          ...result,
        });
        ctx.emit({
          type: 'host-step-finished',
          stepId: spec.id,
          host,
          attempt: h.attempt,
          ...result,
        });
        if (
          result.state !== 'failed' ||
          !result.retryable ||
          tries >= retries ||
          ctx.abort.signal.aborted
        )
          return;
        const delayMs = (ctx.opts.retryDelayMs ?? defaultRetryDelay)(h.attempt + 1);
        ctx.emit({
          type: 'host-step-retrying',
          stepId: spec.id,
          host,
          attempt: h.attempt + 1,
          delayMs,
        });
        try {
          await sleep(ctx.clock, delayMs, ctx.abort.signal);
        } catch {
          return;
        }
      }
    } finally {
      await log.close();
    }
  }

  /** One attempt: connect, check, uploads, run. Never throws. */
  private async attempt(
    step: StepRun,
    host: string,
    h: HostRun,
    log: HostLog,
  ): Promise<AttemptResult> {
    const { ctx } = this;
    const spec = step.spec;
    const signal = h.kill!.signal;
    // The host has no SSH server yet (StepSpec.hostless): no connection is opened for it.
    if (spec.hostless)
      return runHostless(ctx, spec, host, h, log, () => this.softTimeout(spec, host));
    let conn: HostConnection;
    try {
      conn = await ctx.connections.get(host);
    } catch (e) {
      if (ctx.abort.signal.aborted)
        return { state: 'cancelled', message: 'cancelled while connecting' };
      return {
        state: 'failed',
        message: `could not connect: ${messageOf(e)}`,
        retryable: isUstartError(e, 'ConnectionFailed'),
      };
    }
    for (const name of spec.inputs ?? []) {
      try {
        await this.outputs.input(name, signal);
      } catch (e) {
        if (signal.aborted) return { state: 'cancelled', message: 'cancelled reading inputs' };
        if (isUstartError(e, 'ConnectionLost'))
          return { state: 'connection-lost', message: messageOf(e) };
        return { state: 'failed', message: messageOf(e), retryable: true };
      }
    }
    const stdin = await this.stdinFor(spec);
    // The transport reports a lost connection as an outcome; a command that could not even
    // start (a channel refused) is an ordinary, retryable failure. Neither throws out of here.
    const exec = (command: string, stream: boolean, timeoutMs?: number) =>
      conn
        .exec(wrap(spec, command), {
          stdin,
          sudo: spec.sudo,
          signal,
          timeoutMs,
          flow: ctx.flow,
          onStdout: stream ? (c) => log.write('stdout', c) : undefined,
          onStderr: stream ? (c) => log.write('stderr', c) : undefined,
        })
        .catch((e: unknown): ExecOutcome | { kind: 'error'; message: string } =>
          isUstartError(e, 'ConnectionLost')
            ? { kind: 'connection-lost', message: messageOf(e) }
            : { kind: 'error', message: messageOf(e) },
        );
    if (spec.check) {
      log.note(`# uStart: check: ${spec.check}`);
      const checked = await exec(spec.check, true, spec.timeout?.ms);
      if (checked.kind === 'exited' && checked.code === 0) {
        return { state: 'skipped', message: 'check passed: already done' };
      }
      if (checked.kind === 'error')
        return { state: 'failed', message: `check: ${checked.message}`, retryable: true };
      if (checked.kind !== 'exited') return outcomeState(checked, spec, 'check', host);
      log.note(`# uStart: check exited ${checked.code}: running the step`);
    } else if (h.interrupted && !spec.idempotent && !mayRerun(ctx.opts.rerun, spec.id, host)) {
      return {
        state: 'unknown',
        message: `step ${spec.id} was interrupted on ${host} in an earlier run; it has no check and is not idempotent, so uStart cannot tell whether it ran. Look at the host, then resume with --rerun ${spec.id}@${host} to run it again, or --skip ${spec.id}=<reason> if it is done.`,
      };
    }
    h.interrupted = false;
    for (const u of spec.uploads ?? []) {
      if (u.hosts && !u.hosts.includes(host)) continue;
      try {
        log.note(`# uStart: upload ${u.path}`);
        await conn.upload(uploadSource(u), u.path, { mode: u.mode, owner: u.owner, signal });
      } catch (e) {
        if (signal.aborted)
          return { state: 'cancelled', message: `cancelled during the upload of ${u.path}` };
        if (isUstartError(e, 'ConnectionLost'))
          return { state: 'connection-lost', message: messageOf(e) };
        return {
          state: 'failed',
          message: `upload of ${u.path} failed: ${messageOf(e)}`,
          retryable: true,
        };
      }
    }
    if (spec.local) return this.runLocal(spec, host, conn, signal, log);
    const stopWarning = this.softTimeout(spec, host);
    try {
      const outcome = await exec(
        spec.run,
        true,
        spec.timeout?.mode === 'hard' ? spec.timeout.ms : undefined,
      );
      if (outcome.kind === 'error')
        return { state: 'failed', message: outcome.message, retryable: true };
      const result = outcomeState(
        outcome,
        spec,
        'run',
        host,
        h.kill!.signal.aborted && !ctx.abort.signal.aborted,
      );
      if (result.state !== 'succeeded' || host !== step.hosts[0]) return result;
      for (const o of spec.outputs ?? []) {
        // A fresh read: a re-run replaces what an earlier attempt produced.
        this.outputs.forget(o.name);
        log.note(`# uStart: read output ${o.name} from ${o.path}`);
        try {
          await this.outputs.read(spec, host, o, signal);
        } catch (e) {
          if (signal.aborted) return { state: 'cancelled', message: 'cancelled reading outputs' };
          if (isUstartError(e, 'ConnectionLost'))
            return { state: 'connection-lost', message: messageOf(e) };
          return { state: 'failed', message: messageOf(e), retryable: true };
        }
      }
      return result;
    } finally {
      stopWarning?.();
    }
  }

  /** A soft timeout journals and emits `timeout-warning` and keeps waiting; returns its stop. */
  private softTimeout(spec: StepSpec, host: string): (() => void) | undefined {
    const { ctx } = this;
    const soft = spec.timeout?.mode === 'soft' ? spec.timeout.ms : undefined;
    if (!soft) return undefined;
    const startedAt = ctx.clock.now();
    return ctx.clock.setTimeout(() => {
      const elapsedMs = ctx.clock.now() - startedAt;
      void ctx
        .write({ type: 'timeout-warning', at: ctx.clock.now(), stepId: spec.id, host, elapsedMs })
        .catch(() => undefined);
      ctx.emit({ type: 'timeout-warning', stepId: spec.id, host, elapsedMs });
    }, soft);
  }

  /** A step done from this machine (StepSpec.local) on one host. Never throws. */
  private async runLocal(
    spec: StepSpec,
    host: string,
    connection: HostConnection,
    signal: AbortSignal,
    log: HostLog,
  ): Promise<AttemptResult> {
    const { ctx } = this;
    try {
      await spec.local!({
        host,
        target: ctx.opts.hosts.get(host)!,
        transport: ctx.opts.transport,
        connection,
        signal,
        log: (line) => log.note(line),
      });
      return { state: 'succeeded' };
    } catch (e) {
      if (signal.aborted) {
        return {
          state: 'cancelled',
          message: ctx.abort.signal.aborted ? 'cancelled' : 'killed by the consultant',
        };
      }
      if (isUstartError(e, 'ConnectionLost'))
        return { state: 'connection-lost', message: messageOf(e) };
      log.note(`# uStart: ${messageOf(e)}`);
      return { state: 'failed', message: messageOf(e), retryable: true };
    }
  }

  /** Secrets, then inputs (already read by `attempt`), one per line, in `wrap`'s order. */
  private async stdinFor(spec: StepSpec): Promise<string | undefined> {
    const values = [
      ...(spec.secrets ?? []).map((n) => this.ctx.secretValues.get(n)!),
      ...(await Promise.all((spec.inputs ?? []).map((n) => this.outputs.known(n)!))),
    ];
    return values.length ? values.map((v) => `${v}\n`).join('') : undefined;
  }
}

/** Maps a command's outcome to a host-step state; a lost connection is never `failed`. */
export function outcomeState(
  o: ExecOutcome,
  spec: StepSpec,
  what: 'check' | 'run',
  host: string,
  killed = false,
): AttemptResult {
  switch (o.kind) {
    case 'exited':
      return o.code === 0
        ? { state: 'succeeded', exitCode: 0 }
        : {
            state: 'failed',
            exitCode: o.code,
            message: `${what} exited with code ${o.code}`,
            retryable: true,
          };
    case 'signalled':
      return {
        state: 'failed',
        signal: o.signal,
        message: `${what} was killed by signal ${o.signal}`,
        retryable: true,
      };
    case 'timeout': {
      const limit = `its hard timeout of ${Math.round((spec.timeout?.ms ?? 0) / 1000)} s`;
      if (o.remoteKilled) {
        return {
          state: 'failed',
          message: `${what} ran longer than ${limit} and was killed`,
          retryable: true,
        };
      }
      // Ended on this side only: the command may still run there, so neither a retry nor
      // a plain failure would be honest. `unknown` makes resume ask (check, --rerun, --skip).
      return {
        state: 'unknown',
        message: `${what} ran longer than ${limit}; remote kill not confirmed: uStart stopped waiting, but the command may still run on ${host}. Look at the host, then resume with --rerun ${spec.id}@${host} or --skip ${spec.id}=<reason>.`,
      };
    }
    case 'cancelled': {
      const why = killed ? 'killed by the consultant' : 'cancelled';
      return {
        state: 'cancelled',
        message:
          o.remoteKilled === false
            ? `${why}; remote kill not confirmed: the command may still run on ${host}`
            : why,
      };
    }
    case 'connection-lost':
      return {
        state: 'connection-lost',
        message: `the connection was lost during the ${what}: ${o.message}`,
      };
    case 'unknown':
      return { state: 'unknown', message: `the ${what} ended without an exit status` };
    default:
      throw unreachable(o);
  }
}

/** Env exports (non-secret, visible in argv) and secret reads (from stdin, never argv). */
function wrap(spec: StepSpec, command: string): string {
  const parts: string[] = [];
  for (const name of spec.secrets ?? []) parts.push(`IFS= read -r ${name}`);
  for (const name of spec.inputs ?? []) parts.push(`IFS= read -r ${inputVariable(name)}`);
  for (const [k, v] of Object.entries(spec.env ?? {})) parts.push(`export ${k}=${shQuote(v)}`);
  return parts.length ? `${parts.join('; ')}\n${command}` : command;
}

/** The port takes a string as a local path, so text content goes as bytes. */
function uploadSource(u: StepUpload): string | Uint8Array {
  if (u.content === undefined) return u.source!;
  return typeof u.content === 'string' ? Buffer.from(u.content, 'utf8') : u.content;
}
