/**
 * Step outputs handed to later steps (docs/engine.md, "Outputs and inputs"): read back from
 * the producer's first host, kept in memory only, and hidden by the redactor from then on.
 */
import { UstartError } from '../errors.js';
import type { ExecOutcome } from '../ssh/transport.js';
import { shQuote } from '../util/sh-quote.js';
import type { RunContext } from './run-state.js';
import type { StepOutputSpec, StepSpec } from './types.js';

export class StepOutputs {
  /** Step outputs by name (base64), in memory only; a read in flight is shared. */
  private readonly values = new Map<string, Promise<string>>();

  constructor(private readonly ctx: RunContext) {}

  /** The value of an output already read (`input` before a step's stdin is built). */
  known(name: string): Promise<string> | undefined {
    return this.values.get(name);
  }

  /** Forgets a value so the next read is fresh: a re-run replaces an earlier attempt's. */
  forget(name: string): void {
    this.values.delete(name);
  }

  /**
   * An input's value: in memory when its producer ran in this engine; otherwise (resume, a
   * producer skipped by its check or left out by --steps) read again from the producer's
   * first host, where the file still is.
   */
  async input(name: string, signal: AbortSignal): Promise<string> {
    const { opts, steps } = this.ctx;
    const spec = opts.steps.find((s) => s.outputs?.some((o) => o.name === name))!;
    const output = spec.outputs!.find((o) => o.name === name)!;
    const host = steps.get(spec.id)?.hosts[0] ?? opts.resolveTargets(spec.targets, spec)[0];
    if (host === undefined) {
      throw new UstartError(
        'RunbookInvalid',
        `input "${name}" comes from step "${spec.id}", which has no host in this plan.`,
      );
    }
    return this.read(spec, host, output, signal);
  }

  /** Reads an output file back (base64, one line) and hides its value from then on. */
  read(spec: StepSpec, host: string, output: StepOutputSpec, signal: AbortSignal): Promise<string> {
    const known = this.values.get(output.name);
    if (known) return known;
    const read = (async () => {
      const conn = await this.ctx.connections.get(host);
      const chunks: Uint8Array[] = [];
      const outcome = await conn.exec(`base64 -w0 -- ${shQuote(output.path)}`, {
        sudo: spec.sudo,
        signal,
        onStdout: (c) => chunks.push(c),
      });
      const value = Buffer.concat(chunks).toString('utf8').trim();
      if (outcome.kind === 'connection-lost') {
        throw new UstartError(
          'ConnectionLost',
          `the connection to ${host} was lost while reading output "${output.name}" of step ${spec.id}: ${outcome.message}`,
        );
      }
      if (outcome.kind !== 'exited' || outcome.code !== 0 || !value) {
        throw new UstartError(
          'StepFailed',
          `could not read output "${output.name}" of step ${spec.id} from ${output.path} on ${host} (${describeOutcome(outcome)}); run step ${spec.id} again (--rerun ${spec.id}) so it writes the file.`,
        );
      }
      const text = Buffer.from(value, 'base64').toString('utf8');
      // Hide the value in both forms, and each line of the file, should a script print it.
      this.ctx.redactor.add([
        value,
        text.trim(),
        ...text.split('\n').filter((l) => l.trim().length >= 8),
      ]);
      return value;
    })();
    this.values.set(output.name, read);
    read.catch(() => {
      if (this.values.get(output.name) === read) this.values.delete(output.name);
    });
    return read;
  }
}

function describeOutcome(o: ExecOutcome): string {
  return o.kind === 'exited' ? `exit code ${o.code}` : o.kind;
}
