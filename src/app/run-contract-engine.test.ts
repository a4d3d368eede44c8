/**
 * The engine reads its events, states and decisions from the contract's schemas
 * (src/api/run-events.ts; the api may not import the engine). These checks stay as a guard:
 * they fail if the two are ever declared apart again and drift. Where the engine has only a type, a `Record<Type, true>` literal lists its members:
 * the compiler refuses a literal that misses one or names one too many, and the test then
 * compares that list with the contract's.
 */
import { describe, expect, it } from 'vitest';
import { Decision, HostStateName, RunEventSchema, RunStateName } from '../api/index.js';
import {
  STATES,
  type Decision as EngineDecision,
  type PauseReason,
  type RunEvent,
  type RunEventType,
  type RunState,
} from '../engine/index.js';

const RUN_STATES: Record<RunState, true> = {
  running: true,
  succeeded: true,
  failed: true,
  cancelled: true,
  'connection-lost': true,
  unknown: true,
  interrupted: true,
};

const EVENT_TYPES: Record<RunEventType, true> = {
  'run-started': true,
  'step-started': true,
  'host-step-started': true,
  log: true,
  'host-step-finished': true,
  'host-step-retrying': true,
  'timeout-warning': true,
  'step-finished': true,
  'step-skipped': true,
  'run-paused': true,
  'decision-taken': true,
  warning: true,
  'run-finished': true,
};

const PAUSE_REASONS: Record<PauseReason, true> = { 'before-step': true, 'step-failed': true };
const DECISIONS: Record<EngineDecision['kind'], true> = {
  run: true,
  'run-all': true,
  skip: true,
  retry: true,
  stop: true,
};
const STREAMS: Record<Extract<RunEvent, { type: 'log' }>['stream'], true> = {
  stdout: true,
  stderr: true,
  engine: true,
};

const sorted = (xs: Iterable<string>) => [...xs].sort();
type Variant = (typeof RunEventSchema.options)[number];
const variant = <T extends Variant['shape']['type']['value']>(type: T) =>
  RunEventSchema.options.find(
    (o: Variant): o is Extract<Variant, { shape: { type: { value: T } } }> =>
      o.shape.type.value === type,
  )!;

describe('the run contract restates the engine', () => {
  it('has the engine’s host-step states, in the engine’s order', () => {
    expect(HostStateName.options).toEqual([...STATES]);
  });

  it('has the engine’s run states', () => {
    expect(sorted(RunStateName.options)).toEqual(sorted(Object.keys(RUN_STATES)));
  });

  it('has a schema for every engine event and none more', () => {
    expect(sorted(RunEventSchema.options.map((o: Variant) => o.shape.type.value))).toEqual(
      sorted(Object.keys(EVENT_TYPES)),
    );
  });

  it('has the engine’s pause reasons, decisions and log streams', () => {
    expect(sorted(variant('run-paused').shape.reason.options)).toEqual(
      sorted(Object.keys(PAUSE_REASONS)),
    );
    expect(sorted(Decision.options.map((o) => o.shape.kind.value))).toEqual(
      sorted(Object.keys(DECISIONS)),
    );
    expect(sorted(variant('log').shape.stream.options)).toEqual(sorted(Object.keys(STREAMS)));
  });
});
