/** Collects a RunEngine's events and waits on them (never on time). */
import type { RunEngine, RunEvent } from '../../src/engine/index.js';

export interface EventLog {
  readonly all: RunEvent[];
  /** Resolves with the first event (already seen or coming) that matches. */
  waitFor<T extends RunEvent>(match: (e: RunEvent) => e is T): Promise<T>;
  waitFor(match: (e: RunEvent) => boolean): Promise<RunEvent>;
  of<K extends RunEvent['type']>(type: K): Extract<RunEvent, { type: K }>[];
  /** stdout+stderr text of one host-step. */
  output(stepId: string, host: string): string;
  dispose(): void;
}

export function recordEvents(engine: RunEngine): EventLog {
  const all: RunEvent[] = [];
  const waiters: { match: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }[] = [];
  const sub = engine.subscribe((e) => {
    all.push(e);
    for (const w of [...waiters]) {
      if (w.match(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  return {
    all,
    waitFor(match: (e: RunEvent) => boolean) {
      const seen = all.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise<RunEvent>((resolve) => waiters.push({ match, resolve }));
    },
    of<K extends RunEvent['type']>(type: K) {
      return all.filter((e) => e.type === type) as Extract<RunEvent, { type: K }>[];
    },
    output(stepId, host) {
      return all
        .map((e) =>
          e.type === 'log' && e.stepId === stepId && e.host === host && e.stream !== 'engine'
            ? e.data
            : '',
        )
        .join('');
    },
    dispose: () => sub.dispose(),
  } as EventLog;
}

/** A log event of `stepId` on `host` whose text contains `text`. */
export const logged =
  (stepId: string, host: string, text: string) =>
  (e: RunEvent): boolean =>
    e.type === 'log' && e.stepId === stepId && e.host === host && e.data.includes(text);
