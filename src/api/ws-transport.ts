/**
 * The api client's transport over one WebSocket (browser mode). Works with the browser's
 * WebSocket and with the `ws` package's (tests, benchmarks): both offer the small surface
 * of `SocketLike`. Every frame from the server is parsed before it is used.
 */
import type { ApiTransport } from './client.js';
import type { EventName } from './contract.js';
import { fail } from './result.js';
import { ServerFrame, type ClientFrame } from './wire.js';

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
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const closeListeners = new Set<() => void>();
  const ready = new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error('the connection to the uStart server failed'));
  });
  // An unobserved rejection must not surface as an unhandled error: callers await `ready`.
  ready.catch(() => undefined);
  socket.onclose = () => {
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
      return new Promise((resolve) => {
        pending.set(id, resolve);
        socket.send(JSON.stringify(frame));
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
