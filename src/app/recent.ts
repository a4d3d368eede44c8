/** The recently opened plans, kept as a small JSON file in the state folder. */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../util/fs.js';

export interface RecentEntry {
  file: string;
  openedAt: string;
}

const MAX_RECENT = 10;

export interface RecentFiles {
  list(): Promise<RecentEntry[]>;
  /** Moves `file` to the top and returns the new list. */
  add(file: string): Promise<RecentEntry[]>;
  clear(): Promise<RecentEntry[]>;
}

export function recentFiles(stateDir: string, now: () => Date = () => new Date()): RecentFiles {
  const file = join(stateDir, 'recent.json');
  // Writes are chained so two quick saves never interleave their read-modify-write.
  let queue: Promise<unknown> = Promise.resolve();
  const read = async (): Promise<RecentEntry[]> => {
    try {
      const data: unknown = JSON.parse(await readFile(file, 'utf8'));
      if (!Array.isArray(data)) return [];
      return data.filter(
        (e): e is RecentEntry =>
          typeof e === 'object' &&
          e !== null &&
          typeof (e as RecentEntry).file === 'string' &&
          typeof (e as RecentEntry).openedAt === 'string',
      );
    } catch {
      // A missing or damaged list is not worth an error: it is only a convenience.
      return [];
    }
  };
  const write = async (entries: RecentEntry[]) => {
    await mkdir(stateDir, { recursive: true });
    await writeAtomically(file, JSON.stringify(entries, null, 2) + '\n', 0o600);
    return entries;
  };
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    list: () => serial(read),
    add: (added) =>
      serial(async () => {
        const rest = (await read()).filter((e) => e.file !== added);
        return write(
          [{ file: added, openedAt: now().toISOString() }, ...rest].slice(0, MAX_RECENT),
        );
      }),
    clear: () => serial(() => write([])),
  };
}
