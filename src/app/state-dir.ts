/**
 * The one folder where uStart keeps its own small files (known_hosts, recent.json,
 * access.json), shared by the CLI, browser mode and the desktop app, so a host key accepted
 * in one is known to the others.
 *
 * It is the CLI's folder, `$XDG_CONFIG_HOME/ustart` (else `~/.config/ustart`), on every
 * platform, because
 * - the CLI, browser mode and the tests can name it without Electron (Electron's userData is
 *   known only inside a running app, and differs per platform);
 * - the CLI's messages and docs already print this path (`ssh-keygen -R … -f` in a host-key
 *   mismatch), and CLI users keep their files where they are;
 * - Electron's userData also holds Chromium's caches; uStart's files stay apart from them.
 *
 * What stays in userData: the app's encrypted secrets (secrets.json: only the app can decrypt
 * them, with the OS keychain) and the window's size and place.
 *
 * Before this folder was shared, the desktop app kept known_hosts, recent.json and access.json
 * in its userData. `migrateStateDir` merges those in once (a marker file records it) and
 * never deletes or rewrites the old files.
 */
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UstartError } from '../errors.js';
import { writeAtomically } from '../util/fs.js';
import type { RecentEntry } from './recent.js';

/** `$XDG_CONFIG_HOME/ustart`, else `~/.config/ustart` (docs/upstream-facts.md#xdg.config-home). */
export function ustartStateDir(
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.config'), 'ustart');
}

/**
 * Where the desktop app kept its files before (Electron's `userData` for productName
 * "uStart"): ~/Library/Application Support/uStart, %APPDATA%\uStart, else
 * $XDG_CONFIG_HOME/uStart or ~/.config/uStart (docs/upstream-facts.md#electron.app.userdata-path).
 * The CLI migrates from here too, so keys
 * accepted in an older app are known to a CLI run before the app starts again.
 */
export function legacyAppStateDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'uStart');
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'uStart');
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.config'), 'uStart');
}

const MARKER = 'migrated.json';
const MAX_RECENT = 10;

export interface MigrationResult {
  /** False when the marker says this folder was merged before, or there is nothing to merge. */
  ran: boolean;
  knownHostsAdded: number;
  recentAdded: number;
  accessAdded: number;
}

/**
 * Merges `from`'s known_hosts, recent.json and access.json into `stateDir`, once per `from`
 * (recorded in stateDir/migrated.json). known_hosts: `from`'s lines that are not already
 * there are appended (no duplicates, the state folder's lines first). recent.json: the union,
 * newest first, each file once, at most 10. access.json: a plan's settings already in the
 * state folder win. The old files are left as they are.
 */
export async function migrateStateDir(stateDir: string, from: string): Promise<MigrationResult> {
  const result: MigrationResult = {
    ran: false,
    knownHostsAdded: 0,
    recentAdded: 0,
    accessAdded: 0,
  };
  const fromReal = await realpath(from).catch(() => undefined);
  if (!fromReal) return result; // no old folder: nothing to merge
  if (fromReal === (await realpath(stateDir).catch(() => undefined))) return result;
  const markerFile = join(stateDir, MARKER);
  const marker = await readJson(markerFile);
  const done: string[] = Array.isArray((marker as { from?: unknown } | undefined)?.from)
    ? ((marker as { from: unknown[] }).from.filter((f) => typeof f === 'string') as string[])
    : [];
  if (done.includes(fromReal)) return result;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });

  // known_hosts
  const oldHosts = await readText(join(from, 'known_hosts'));
  if (oldHosts !== undefined) {
    const file = join(stateDir, 'known_hosts');
    const mine = (await readText(file)) ?? '';
    const have = new Set(lines(mine));
    const added = lines(oldHosts).filter((l) => {
      if (have.has(l)) return false;
      have.add(l);
      return true;
    });
    if (added.length) {
      const base = mine === '' || mine.endsWith('\n') ? mine : mine + '\n';
      await writeAtomically(file, base + added.join('\n') + '\n', 0o600);
      result.knownHostsAdded = added.length;
    }
  }

  // recent.json
  const oldRecent = recentEntries(await readJson(join(from, 'recent.json')));
  if (oldRecent.length) {
    const file = join(stateDir, 'recent.json');
    const mine = recentEntries(await readJsonKeeping(file, Array.isArray));
    const byFile = new Map<string, RecentEntry>();
    for (const e of [...mine, ...oldRecent]) {
      const seen = byFile.get(e.file);
      if (!seen || Date.parse(e.openedAt) > Date.parse(seen.openedAt)) byFile.set(e.file, e);
    }
    const merged = [...byFile.values()]
      .sort((a, b) => Date.parse(b.openedAt) - Date.parse(a.openedAt))
      .slice(0, MAX_RECENT);
    const mineFiles = new Set(mine.map((e) => e.file));
    result.recentAdded = merged.filter((e) => !mineFiles.has(e.file)).length;
    await writeAtomically(file, JSON.stringify(merged, null, 2) + '\n', 0o600);
  }

  // access.json: { [planFile]: settings }
  const oldAccess = await readJson(join(from, 'access.json'));
  if (isRecord(oldAccess) && Object.keys(oldAccess).length) {
    const file = join(stateDir, 'access.json');
    const current = await readJsonKeeping(file, isRecord);
    const mine = isRecord(current) ? current : {};
    const added = Object.keys(oldAccess).filter((k) => !(k in mine));
    if (added.length) {
      const merged: Record<string, unknown> = { ...mine };
      for (const k of added) merged[k] = oldAccess[k];
      await writeAtomically(file, JSON.stringify(merged, null, 2) + '\n', 0o600);
      result.accessAdded = added.length;
    }
  }

  await writeAtomically(
    markerFile,
    JSON.stringify(
      {
        from: [...done, fromReal],
        note: 'uStart merged the files of these folders into this one once; the old files were left in place.',
      },
      null,
      2,
    ) + '\n',
    0o600,
  );
  result.ran = true;
  return result;
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
}

function recentEntries(data: unknown): RecentEntry[] {
  if (!Array.isArray(data)) return [];
  return data.filter(
    (e): e is RecentEntry =>
      isRecord(e) && typeof e.file === 'string' && typeof e.openedAt === 'string',
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UstartError(
      'InvalidArgument',
      `cannot read ${file} to merge it into uStart's state folder: ${(e as Error).message}`,
      { cause: e, detail: { file } },
    );
  }
}

/**
 * The state folder's own JSON file before a merge rewrites it. One that exists but is not
 * what `valid` wants is copied to `FILE.before-merge` first, so the merge never loses it.
 */
async function readJsonKeeping(file: string, valid: (v: unknown) => boolean): Promise<unknown> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (valid(value)) return value;
  await writeAtomically(`${file}.before-merge`, text, 0o600);
  return undefined;
}

/** Parsed JSON, undefined for a missing file or one that is not JSON (left as it is). */
async function readJson(file: string): Promise<unknown> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The shared state folder, after merging the desktop app's old folder into it once.
 * `legacy`: the old folder (the app passes its userData; the CLI, its usual place). A merge
 * that fails is reported to `warn` and tried again next time; it never stops a start.
 */
export async function openStateDir(
  options: { legacy?: string; stateDir?: string; warn?: (message: string) => void } = {},
): Promise<string> {
  const dir = options.stateDir ?? ustartStateDir();
  const legacy = options.legacy ?? legacyAppStateDir();
  try {
    await migrateStateDir(dir, legacy);
  } catch (e) {
    options.warn?.(
      `uStart could not merge its old files from ${legacy} into ${dir}: ${(e as Error).message}. Nothing was removed; it tries again next start.`,
    );
  }
  return dir;
}
