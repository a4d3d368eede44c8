/** Option parsing the commands share. */
import { UstartError } from '../errors.js';

/** Commander's accumulator for a repeatable option: `--x a --x b` → `['a', 'b']`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A whole number ≥ `min` (and ≤ `max`), or a clear InvalidArgument naming the option. */
export function wholeNumber(option: string, value: string, min: number, max?: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    throw new UstartError(
      'InvalidArgument',
      `${option} ${value}: give a whole number ${max !== undefined ? `from ${min} to ${max}` : `of at least ${min}`}`,
    );
  }
  return n;
}
