/**
 * Undo/redo of whole plan snapshots. Plans are immutable (immer shares unchanged parts), so
 * a snapshot costs only what changed. Consecutive edits with the same `key` (typing into one
 * field) merge into one step, so undo reverts a word, not a letter.
 */

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  /** Key and time of the last edit, for merging keystrokes into one step. */
  lastKey: string | undefined;
  lastAt: number;
}

/** Steps kept; older ones are dropped. */
export const HISTORY_LIMIT = 200;
/** Edits of the same field closer together than this merge into one undo step. */
export const MERGE_WINDOW_MS = 1000;

export function startHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastKey: undefined, lastAt: 0 };
}

export function record<T>(
  h: History<T>,
  next: T,
  key: string | undefined,
  now: number,
): History<T> {
  if (Object.is(next, h.present)) return h;
  const merge = key !== undefined && key === h.lastKey && now - h.lastAt < MERGE_WINDOW_MS;
  const past = merge ? h.past : [...h.past, h.present].slice(-HISTORY_LIMIT);
  return { past, present: next, future: [], lastKey: key, lastAt: now };
}

export function undo<T>(h: History<T>): History<T> {
  const previous = h.past.at(-1);
  if (previous === undefined) return h;
  return {
    past: h.past.slice(0, -1),
    present: previous,
    future: [h.present, ...h.future],
    lastKey: undefined,
    lastAt: 0,
  };
}

export function redo<T>(h: History<T>): History<T> {
  const [next, ...rest] = h.future;
  if (next === undefined) return h;
  return {
    past: [...h.past, h.present],
    present: next,
    future: rest,
    lastKey: undefined,
    lastAt: 0,
  };
}
