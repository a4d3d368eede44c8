/**
 * Where browser mode finds the UI. `npm run build` (CI, packaged apps) leaves the built
 * renderer in out/renderer; right after `npm ci` there is none (and during development it
 * may be older than the sources), so the server builds it with Vite's build API into a
 * temporary folder (a few seconds) and removes it on close.
 * A dev server is not used: it would serve unbuilt modules and need its own HMR socket,
 * which the token and Origin checks would have to let through.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
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

/** Newest modification time of the files under `dir`, in ms. */
async function newest(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const times = await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => (await stat(join(e.parentPath, e.name))).mtimeMs),
  );
  return Math.max(0, ...times);
}

/** Why out/renderer cannot be served as it is, or undefined when it can. */
async function staleness(): Promise<string | undefined> {
  let built: number;
  try {
    built = (await stat(join(BUILT_RENDERER, 'index.html'))).mtimeMs;
  } catch {
    return 'out/renderer is missing';
  }
  // The renderer bundles the contract and the plan schema it re-exports.
  const sources = await Promise.all(
    [RENDERER_SOURCE, join(ROOT, 'src', 'api')].map((d) => newest(d).catch(() => 0)),
  );
  return Math.max(...sources) > built ? 'out/renderer is older than its sources' : undefined;
}

/** The built renderer if it is current, else a fresh build in a temporary folder. */
export async function locateRenderer(
  options: { rebuild?: boolean; log?: (line: string) => void } = {},
): Promise<RendererDir> {
  const why = options.rebuild ? 'asked to rebuild' : await staleness();
  if (why === undefined) return { dir: BUILT_RENDERER, built: false, dispose: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'ustart-renderer-'));
  options.log?.(`building the UI (${why}; \`npm run build\` makes this instant)…\n`);
  try {
    await buildRenderer(dir);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, built: true, dispose: () => rm(dir, { recursive: true, force: true }) };
}
