/**
 * Where browser mode finds the UI. `npm run build` (CI, packaged apps) leaves the built
 * renderer in out/renderer; right after `npm ci` there is none, so the server builds it
 * with Vite's build API into a temporary folder (a few seconds) and removes it on close.
 * A dev server is not used: it would serve unbuilt modules and need its own HMR socket,
 * which the token and Origin checks would have to let through.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The renderer's sources (renderer/index.html and renderer/src). */
export const RENDERER_SOURCE = join(ROOT, 'renderer');
/** Where `npm run build` puts the renderer. */
export const BUILT_RENDERER = join(ROOT, 'out', 'renderer');

export interface RendererDir {
  dir: string;
  /** True when it was built on demand (and is removed by dispose). */
  built: boolean;
  dispose(): Promise<void>;
}

/** Builds the renderer into `outDir` with Vite (production mode, relative asset paths). */
export async function buildRenderer(outDir: string): Promise<void> {
  const { build } = await import('vite');
  const { default: react } = await import('@vitejs/plugin-react');
  await build({
    root: RENDERER_SOURCE,
    configFile: false,
    logLevel: 'warn',
    base: './',
    mode: 'production',
    plugins: [react()],
    build: { outDir, emptyOutDir: true, reportCompressedSize: false },
  });
}

/** The built renderer if there is one, else a fresh build in a temporary folder. */
export async function locateRenderer(
  options: { rebuild?: boolean; log?: (line: string) => void } = {},
): Promise<RendererDir> {
  if (!options.rebuild) {
    try {
      await access(join(BUILT_RENDERER, 'index.html'));
      return { dir: BUILT_RENDERER, built: false, dispose: async () => {} };
    } catch {
      // Not built yet: fall through and build it.
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'ustart-renderer-'));
  options.log?.('building the UI (out/renderer is missing; `npm run build` makes this instant)…\n');
  try {
    await buildRenderer(dir);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, built: true, dispose: () => rm(dir, { recursive: true, force: true }) };
}
