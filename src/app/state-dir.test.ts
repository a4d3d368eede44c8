import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recentFiles } from './recent.js';
import { legacyAppStateDir, migrateStateDir, ustartStateDir } from './state-dir.js';

const run = promisify(execFile);
const moduleUrl = new URL('./state-dir.ts', import.meta.url).href;
const root = fileURLToPath(new URL('../..', import.meta.url));

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'ustart-home-'));
});
afterEach(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

/** openStateDir() in a fresh Node process whose HOME is the temp home (no XDG_CONFIG_HOME). */
async function openInNode(): Promise<{ dir: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env.XDG_CONFIG_HOME;
  const script = `import { openStateDir } from ${JSON.stringify(moduleUrl)};
process.stdout.write(await openStateDir({ warn: (m) => process.stderr.write(m) }));`;
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { env, cwd: root },
  );
  return { dir: stdout, stderr };
}

const KEY_A =
  'node-1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const KEY_B =
  '[node-2]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
const KEY_C = '|1|c2FsdA==|aGFzaA== ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCC';

describe('one state folder for the CLI and the app', () => {
  it('is $XDG_CONFIG_HOME/ustart, else ~/.config/ustart; the app kept its files in userData', () => {
    expect(ustartStateDir({}, '/home/u')).toBe('/home/u/.config/ustart');
    expect(ustartStateDir({ XDG_CONFIG_HOME: '/x' }, '/home/u')).toBe('/x/ustart');
    // The XDG spec ignores a relative value.
    expect(ustartStateDir({ XDG_CONFIG_HOME: 'rel' }, '/home/u')).toBe('/home/u/.config/ustart');
    expect(legacyAppStateDir('linux', {}, '/home/u')).toBe('/home/u/.config/uStart');
    expect(legacyAppStateDir('darwin', {}, '/Users/u')).toBe(
      '/Users/u/Library/Application Support/uStart',
    );
  });

  it('merges the app’s known_hosts, recent files and access settings once, and keeps the old files', async () => {
    const appDir = join(home, '.config', 'uStart');
    const cliDir = join(home, '.config', 'ustart');
    await mkdir(appDir, { recursive: true });
    await mkdir(cliDir, { recursive: true });
    const oldHosts = `${KEY_A}\n${KEY_B}\n\n${KEY_A}\n${KEY_C}\n`;
    const oldRecent = JSON.stringify([
      { file: '/plans/a.yaml', openedAt: '2026-11-02T10:00:00.000Z' },
      { file: '/plans/b.yaml', openedAt: '2026-11-01T10:00:00.000Z' },
    ]);
    const oldAccess = JSON.stringify({
      '/plans/a.yaml': { user: 'app-user', keyPath: null, agent: true, jumpHost: null },
      '/plans/b.yaml': { user: 'b', keyPath: null, agent: true, jumpHost: null },
    });
    await writeFile(join(appDir, 'known_hosts'), oldHosts);
    await writeFile(join(appDir, 'recent.json'), oldRecent);
    await writeFile(join(appDir, 'access.json'), oldAccess);
    await writeFile(join(appDir, 'secrets.json'), '{"stays":"here"}');
    // The CLI already knows KEY_B (its file has no final newline) and has newer recents.
    await writeFile(join(cliDir, 'known_hosts'), KEY_B);
    await writeFile(
      join(cliDir, 'recent.json'),
      JSON.stringify([
        { file: '/plans/a.yaml', openedAt: '2026-10-01T10:00:00.000Z' },
        { file: '/plans/c.yaml', openedAt: '2026-11-03T10:00:00.000Z' },
      ]),
    );
    await writeFile(
      join(cliDir, 'access.json'),
      JSON.stringify({
        '/plans/a.yaml': { user: 'cli-user', keyPath: null, agent: true, jumpHost: null },
      }),
    );

    const first = await openInNode();
    expect(first).toEqual({ dir: cliDir, stderr: '' });
    expect(await readFile(join(cliDir, 'known_hosts'), 'utf8')).toBe(
      `${KEY_B}\n${KEY_A}\n${KEY_C}\n`,
    );
    expect((await stat(join(cliDir, 'known_hosts'))).mode & 0o777).toBe(0o600);
    expect(await recentFiles(cliDir).list()).toEqual([
      { file: '/plans/c.yaml', openedAt: '2026-11-03T10:00:00.000Z' },
      { file: '/plans/a.yaml', openedAt: '2026-11-02T10:00:00.000Z' },
      { file: '/plans/b.yaml', openedAt: '2026-11-01T10:00:00.000Z' },
    ]);
    const access = JSON.parse(await readFile(join(cliDir, 'access.json'), 'utf8')) as Record<
      string,
      { user: string }
    >;
    expect(Object.fromEntries(Object.entries(access).map(([k, v]) => [k, v.user]))).toEqual({
      '/plans/a.yaml': 'cli-user',
      '/plans/b.yaml': 'b',
    });
    // The app's files are untouched; its secrets stay in userData.
    expect(await readFile(join(appDir, 'known_hosts'), 'utf8')).toBe(oldHosts);
    expect(await readFile(join(appDir, 'recent.json'), 'utf8')).toBe(oldRecent);
    expect(await readFile(join(appDir, 'access.json'), 'utf8')).toBe(oldAccess);
    expect((await readdir(cliDir)).sort()).toEqual([
      'access.json',
      'known_hosts',
      'migrated.json',
      'recent.json',
    ]);

    // Once: a key the old app folder gains later is not merged again.
    await writeFile(join(appDir, 'known_hosts'), `${oldHosts}late ssh-ed25519 AAAA\n`);
    const before = await readFile(join(cliDir, 'known_hosts'), 'utf8');
    expect((await openInNode()).dir).toBe(cliDir);
    expect(await readFile(join(cliDir, 'known_hosts'), 'utf8')).toBe(before);
  });

  it('creates the state folder from the app’s files alone, and does nothing without them', async () => {
    expect(await openInNode()).toEqual({ dir: join(home, '.config', 'ustart'), stderr: '' });
    expect(await readdir(home)).toEqual([]);
    const appDir = join(home, '.config', 'uStart');
    await mkdir(appDir, { recursive: true });
    await writeFile(join(appDir, 'known_hosts'), `${KEY_A}\n`);
    await openInNode();
    expect(await readFile(join(home, '.config', 'ustart', 'known_hosts'), 'utf8')).toBe(
      `${KEY_A}\n`,
    );
  });

  it('keeps a damaged file of the state folder as FILE.before-merge', async () => {
    const from = join(home, 'old');
    const to = join(home, 'new');
    await mkdir(from);
    await mkdir(to);
    await writeFile(join(from, 'access.json'), '{"/p.yaml":{"user":"u"}}');
    await writeFile(join(to, 'access.json'), '{ not json');
    const result = await migrateStateDir(to, from);
    expect(result).toMatchObject({ ran: true, accessAdded: 1 });
    expect(await readFile(join(to, 'access.json.before-merge'), 'utf8')).toBe('{ not json');
    expect(JSON.parse(await readFile(join(to, 'access.json'), 'utf8'))).toEqual({
      '/p.yaml': { user: 'u' },
    });
    expect((await migrateStateDir(to, from)).ran).toBe(false);
  });
});
