/**
 * The api client's transport over one WebSocket (browser mode). Works with the browser's
 * WebSocket and with the `ws` package's (tests, benchmarks): both offer the small surface
 * of `SocketLike`. Every frame from the server is parsed before it is used.
 */
import type { ApiTransport } from './client.js';
import type { EventName } from './contract.js';
import { fail } from './result.js';
import { utf8Length } from './utf8.js';
import {
  MAX_BYTES_IN_FLIGHT,
  MAX_FRAME_BYTES,
  MAX_REQUESTS_IN_FLIGHT,
  ServerFrame,
  type ClientFrame,
} from './wire.js';

/** What this transport needs of a WebSocket. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((...args: never[]) => void) | null;
  onclose: ((...args: never[]) => void) | null;
  onerror: ((...args: never[]) => void) | null;
  onmessage: ((event: never) => void) | null;
}

const OPEN = 1;

export interface WsTransport extends ApiTransport {
  /** Resolves once the socket is open; rejects when it cannot open. */
  readonly ready: Promise<void>;
  /** Called when the socket closes (the server stopped, the network dropped). */
  onClose(listener: () => void): () => void;
  close(): void;
}

export function wsTransport(socket: SocketLike): WsTransport {
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  // The server answers Busy past MAX_REQUESTS_IN_FLIGHT or MAX_BYTES_IN_FLIGHT per socket;
  // this page keeps within both and queues the rest, in order.
  const queued: { id: number; text: string; size: number }[] = [];
  const inFlight = new Map<number, number>();
  let bytesInFlight = 0;
  const pump = () => {
    while (queued.length > 0 && socket.readyState === OPEN) {
      const next = queued[0]!;
      const full =
        inFlight.size >= MAX_REQUESTS_IN_FLIGHT || bytesInFlight + next.size > MAX_BYTES_IN_FLIGHT;
      if (full && inFlight.size > 0) return;
      queued.shift();
      inFlight.set(next.id, next.size);
      bytesInFlight += next.size;
      socket.send(next.text);
    }
  };
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const closeListeners = new Set<() => void>();
  const ready = new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error('the connection to the uStart server failed'));
  });
  // An unobserved rejection must not surface as an unhandled error: callers await `ready`.
  ready.catch(() => undefined);
  socket.onclose = () => {
    queued.length = 0;
    inFlight.clear();
    bytesInFlight = 0;
    for (const [id, settle] of pending) {
      settle(fail('Disconnected', 'the uStart server closed the connection; reload the page.'));
      pending.delete(id);
    }
    for (const listener of closeListeners) listener();
  };
  socket.onmessage = (event: { data: unknown }) => {
    if (typeof event.data !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = ServerFrame.parse(JSON.parse(event.data));
    } catch {
      return;
    }
    if (frame.type === 'response') {
      pending.get(frame.id)?.(frame.result);
      pending.delete(frame.id);
      bytesInFlight -= inFlight.get(frame.id) ?? 0;
      inFlight.delete(frame.id);
      pump();
    } else {
      for (const listener of listeners.get(frame.event) ?? []) listener(frame.payload);
    }
  };
  return {
    ready,
    async invoke(channel, input) {
      await ready;
      if (socket.readyState !== OPEN) {
        return fail('Disconnected', 'not connected to the uStart server; reload the page.');
      }
      const id = nextId++;
      const frame: ClientFrame = { type: 'request', id, channel, input };
      const text = JSON.stringify(frame);
      const size = utf8Length(text);
      if (size > MAX_FRAME_BYTES) {
        // Sent, the server would close the socket (1009) and every request on it would fail.
        return fail(
          'TooLarge',
          `${channel}: the request is ${Math.ceil(size / 2 ** 20)} MB, more than the ${MAX_FRAME_BYTES / 2 ** 20} MB the uStart server takes in one request.`,
        );
      }
      return new Promise((resolve) => {
        pending.set(id, resolve);
        queued.push({ id, text, size });
        pump();
      });
    },
    subscribe(event: EventName, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
    onClose(listener) {
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
    close: () => socket.close(1000, 'closed by the page'),
  };
}
