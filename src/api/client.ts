/**
 * The typed client every front uses. It is built from a transport (Electron IPC, a
 * WebSocket, or direct calls in tests) and checks every answer against the contract's
 * output schema, so a front never trusts what crossed a boundary unchecked.
 */
import {
  CHANNELS,
  requests,
  events,
  type Channel,
  type EventName,
  type EventPayload,
  type Input,
  type Output,
} from './contract.js';
import { methodName, type MethodName } from './names.js';
import { fail, resultSchema, type Result } from './result.js';

/** Carries raw requests and events; the client adds types and checks. */
export interface ApiTransport {
  /** Sends a request and resolves with the raw `Result` the other side answered. */
  invoke(channel: Channel, input: unknown): Promise<unknown>;
  /** Listens to an event; returns the unsubscribe function. */
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void;
}

type Args<C extends Channel> =
  Record<string, never> extends Input<C> ? [input?: Input<C>] : [input: Input<C>];

/** One named function per request channel, plus `on` for events. */
export type ApiClient = {
  [C in Channel as MethodName<C>]: (...args: Args<C>) => Promise<Result<Output<C>>>;
} & {
  /** Listens to an event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

const answerSchemas = new Map<Channel, ReturnType<typeof resultSchema>>();

function answerSchema(channel: Channel) {
  let schema = answerSchemas.get(channel);
  if (!schema) {
    schema = resultSchema(requests[channel].output);
    answerSchemas.set(channel, schema);
  }
  return schema;
}

/** Checks a raw answer against the channel's output schema. */
export function checkAnswer<C extends Channel>(channel: C, raw: unknown): Result<Output<C>> {
  const parsed = answerSchema(channel).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(
      'BadAnswer',
      `the answer to ${channel} does not match the contract (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}); the app and its core are out of step — restart uStart.`,
    );
  }
  return parsed.data as Result<Output<C>>;
}

export function createClient(transport: ApiTransport): ApiClient {
  const client: Record<string, unknown> = {};
  for (const channel of CHANNELS) {
    client[methodName(channel)] = async (input: unknown = {}) => {
      try {
        return checkAnswer(channel, await transport.invoke(channel, input));
      } catch (e) {
        return fail('Disconnected', `${channel} could not reach the core: ${String(e)}`);
      }
    };
  }
  client.on = (event: EventName, listener: (payload: unknown) => void) =>
    transport.subscribe(event, (raw) => {
      const parsed = events[event].safeParse(raw);
      if (parsed.success) listener(parsed.data);
    });
  return client as ApiClient;
}

/** The value of a result, or a thrown Error with the api's code and message. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw Object.assign(new Error(result.error.message), { code: result.error.code });
}

export type { EventPayload, Output, Input };
