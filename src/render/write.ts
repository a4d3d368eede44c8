/**
 * `ustart render`: the rendered runbook written to a folder for people to read before
 * anything touches a server. Layout (docs/runbook-format.md, "Rendered output"):
 *
 *   DIR/index.json                    steps in order: phase, hosts, after, commands
 *   DIR/lib.sh                        the shared script library every step uploads
 *   DIR/<host>/env                    the host's plan values, shell-quoted
 *   DIR/<host>/<step>/commands.txt    the uploads (remote path, mode, owner) and commands
 *   DIR/<host>/<step>/run.sh, check.sh
 *   DIR/<host>/<step>/files/...       generated or copied configuration, at its remote path
 *
 * Same plan, same runbook → same bytes: no timestamps, fixed order, fixed modes.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { UstartError } from '../errors.js';
import { pathExists } from '../util/fs.js';
import { dirname, join } from 'node:path';
import { REMOTE } from './context.js';
import { hostEnvPath, hostStepDir, type Renderer, stepDir } from './render.js';
import { toJson } from './yaml.js';

export interface RenderedFile {
  /** Relative to the output folder, `/`-separated. */
  path: string;
  content: string;
  executable: boolean;
}

/** The files of a render, sorted by path. */
export function renderFiles(renderer: Renderer): RenderedFile[] {
  const files = new Map<string, RenderedFile>();
  const put = (path: string, content: string, executable = false) =>
    files.set(path, { path, content, executable });
  const index = [];
  for (const rendered of renderer.renderAll()) {
    const { step } = rendered;
    index.push({
      id: step.id,
      phase: step.phase,
      title: step.title,
      hosts: rendered.hosts,
      after: step.after,
      ...(rendered.perHost[0]?.check ? { check: rendered.perHost[0].check } : {}),
      run: rendered.perHost[0]?.run ?? '',
    });
    for (const hs of rendered.perHost) {
      const base = `${hs.host}/${step.id}`;
      const table: string[] = [];
      for (const upload of hs.uploads) {
        table.push(
          `upload ${upload.path} mode ${upload.mode.toString(8).padStart(4, '0')} owner ${upload.owner}`,
        );
        if (upload.path === REMOTE.lib) put('lib.sh', upload.content, true);
        else if (upload.path === hostEnvPath(hs.host)) put(`${hs.host}/env`, upload.content);
        else if (upload.path === `${stepDir(step.id)}/uploads.sha256`) continue;
        else if (upload.path.startsWith(`${stepDir(step.id)}/`)) {
          put(`${base}/${upload.path.slice(stepDir(step.id).length + 1)}`, upload.content, true);
        } else {
          const own = hostStepDir(hs.host, step.id);
          put(`${base}/${upload.path.slice(own.length + 1)}`, upload.content);
        }
      }
      const commands = [
        `# ${step.title} — on ${hs.host}`,
        '# Uploaded first:',
        ...table.map((l) => `#   ${l}`),
        ...(hs.check ? ['# Check (exit 0 = already done, skip):', hs.check] : []),
        '# Run:',
        hs.run,
        '',
      ];
      put(`${base}/commands.txt`, commands.join('\n'));
    }
  }
  put('index.json', toJson({ site: renderer.plan.site.name, steps: index }));
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Writes a render into `outDir`, replacing what a previous render left there. */
export async function writeRender(renderer: Renderer, outDir: string): Promise<RenderedFile[]> {
  const files = renderFiles(renderer);
  await refuseForeignFolder(outDir);
  await rm(outDir, { recursive: true, force: true });
  for (const file of files) {
    const target = join(outDir, ...file.path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content, { mode: file.executable ? 0o755 : 0o644 });
  }
  return files;
}

/** A render replaces an earlier render, never a folder of someone's other files. */
async function refuseForeignFolder(outDir: string): Promise<void> {
  const entries = await readdir(outDir).catch(() => []);
  if (entries.length === 0) return;
  if (!(await pathExists(join(outDir, 'index.json')))) {
    throw new UstartError(
      'InvalidArgument',
      `${outDir} is not empty and holds no earlier render (no index.json); choose an empty or new folder for --out`,
    );
  }
}
