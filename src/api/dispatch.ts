/**
 * The core side of every binding: parse the input with the contract, call the handler,
 * answer with a `Result`. Electron's `handle`, the WebSocket server and direct test calls
 * all go through `dispatch`, so input is checked the same way everywhere.
 */
import {
  isChannel,
  requests,
  type Channel,
  type EventName,
  type EventPayload,
  type Output,
  type ParsedInput,
} from './contract.js';
import { createClient, type ApiClient } from './client.js';
import { fail, ok, toApiError, type Result } from './result.js';

/** What a core implements: one function per request channel. Throw to answer an error. */
export type Handlers = {
  [C in Channel]: (input: ParsedInput<C>) => Promise<Output<C>> | Output<C>;
};

/**
 * Typed event fan-out from the core to every connected front (the contract's events; not the
 * engine's per-run stream in src/engine/run-stream.ts).
 */
export interface FrontEvents {
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

export function createFrontEvents(): FrontEvents {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  return {
    emit(event, payload) {
      for (const listener of [...(listeners.get(event) ?? [])]) listener(payload);
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const fn = listener as (payload: unknown) => void;
      set.add(fn);
      return () => set.delete(fn);
    },
  };
}

export async function dispatch(
  handlers: Handlers,
  channel: string,
  input: unknown,
): Promise<Result<unknown>> {
  if (!isChannel(channel)) return fail('UnknownChannel', `no such request: ${channel}`);
  return callHandler(channel, handlers[channel], input);
}

/** Parses `input` with the channel's schema, runs the handler, and answers a `Result`. */
export async function callHandler<C extends Channel>(
  channel: C,
  handler: Handlers[C],
  input: unknown,
): Promise<Result<Output<C>>> {
  const parsed = requests[channel].input.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'input';
    return fail('BadInput', `${channel}: ${where}: ${issue?.message ?? 'invalid input'}`);
  }
  try {
    const run = handler as (input: unknown) => Promise<Output<C>> | Output<C>;
    return ok(await run(parsed.data));
  } catch (e) {
    return { ok: false, error: toApiError(e) };
  }
}

/** A client bound straight to handlers, for tests and benchmarks (no process boundary). */
export function directClient(handlers: Handlers, hub: FrontEvents): ApiClient {
  return createClient({
    // A structured clone stands in for the boundary, so tests see what a front would see.
    invoke: async (channel, input) =>
      structuredClone(await dispatch(handlers, channel, structuredClone(input))),
    subscribe: (event, listener) => hub.on(event, listener),
  });
}
