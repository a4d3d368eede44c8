/** Files shipped with uStart (samples, the default runbook), found relative to the sources. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of a file under `assets/`. `USTART_ASSETS` overrides the folder (packaged app). */
export function assetPath(...parts: string[]): string {
  return join(process.env.USTART_ASSETS ?? join(ROOT, 'assets'), ...parts);
}
