/**
 * Small JSON files a shell keeps about itself (window position), read leniently and written
 * atomically: a damaged file falls back to the default instead of stopping the app.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { writeAtomically } from '../util/fs.js';

export async function readStateFile<T>(
  file: string,
  schema: z.ZodType<T>,
  fallback: T,
): Promise<T> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : fallback;
  } catch {
    return fallback;
  }
}

export async function writeStateFile(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeAtomically(file, JSON.stringify(value, null, 2) + '\n', 0o600);
}
