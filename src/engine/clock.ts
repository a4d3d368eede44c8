/**
 * Time as a port (STYLE.md, "Ports and adapters"): lock heartbeats, staleness, soft
 * timeouts and retry back-off all go through a Clock, so tests drive them with a fake
 * instead of sleeping.
 */
import { UstartError } from '../errors.js';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms`; returns the cancel function. */
  setTimeout(fn: () => void, ms: number): () => void;
  /** Calls `fn` every `ms`; returns the cancel function. */
  setInterval(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
};

/** Waits `ms` on `clock`; rejects with UstartError('Cancelled') when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => {
      cancel();
      reject(cancelled());
    };
    const cancel = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function cancelled(): UstartError {
  return new UstartError('Cancelled', 'the run was cancelled.');
}
