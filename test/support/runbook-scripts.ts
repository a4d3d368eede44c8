/**
 * Reading the default runbook's scripts the way bash would, for tests that must follow what
 * the scripts install rather than keep their own copy of the list.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assetPath } from '../../src/util/assets.js';

export const RUNBOOK_SCRIPTS = assetPath('runbook', 'scripts');

/** The values of a bash array `NAME=(a b c)`, from the first of the texts that defines it. */
export function bashArray(name: string, texts: string[]): string[] {
  for (const text of texts) {
    const m = new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(text);
    if (m) return m[1]!.trim().split(/\s+/);
  }
  throw new Error(`assets/runbook/scripts: array ${name} not found; the test cannot expand it`);
}

/** A bash array of the runbook's lib.sh (assets/runbook/scripts/lib.sh). */
export function libShArray(name: string): string[] {
  return bashArray(name, [readFileSync(join(RUNBOOK_SCRIPTS, 'lib.sh'), 'utf8')]);
}
