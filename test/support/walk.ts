import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Every file below `dir`, for tests that grep a whole run folder. */
export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}
