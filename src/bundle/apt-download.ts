/**
 * Resolving and downloading Debian/Ubuntu packages with their whole dependency closure,
 * using apt itself against a PRIVATE apt state: a folder with its own sources, lists,
 * cache and an empty dpkg status (so apt fetches the closure as for a bare host). The
 * machine's own apt configuration, sources and package state are never written.
 *
 * The mirrors come from the machine's configured apt sources (no internet host is named
 * here): for the target release, each source of the machine's distribution is reused with
 * its suites moved to the target's codename, or a sources file is given explicitly.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UstartError } from '../errors.js';
import type { OsRelease } from './packages.js';

const run = promisify(execFile);

/** Distribution and codename of each OS release the runbook supports. */
export const RELEASE_CODENAMES: Record<
  OsRelease,
  { distro: 'debian' | 'ubuntu'; codename: string }
> = {
  'debian-12': { distro: 'debian', codename: 'bookworm' },
  'debian-13': { distro: 'debian', codename: 'trixie' },
  'ubuntu-22.04': { distro: 'ubuntu', codename: 'jammy' },
  'ubuntu-24.04': { distro: 'ubuntu', codename: 'noble' },
};

/** One apt source (a deb822 stanza, or a one-line entry converted to one). */
export interface AptSource {
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
  /** File it was read from, for messages. */
  file: string;
}

/** Parses deb822 `.sources` text; only `Types: deb` stanzas that are enabled. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)}\n${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    const words = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const signedBy = fields.get('signed-by');
    sources.push({
      uris: words('uris'),
      suites: words('suites'),
      components: words('components'),
      ...(signedBy ? { signedBy } : {}),
      file,
    });
  }
  return sources;
}

/** Parses one-line `sources.list` text (`deb [options] URI suite components...`). */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(m[1] ?? '')?.[1];
    sources.push({
      uris: [m[2]!],
      suites: [m[3]!],
      components: (m[4] ?? '').split(/\s+/).filter(Boolean),
      ...(signedBy ? { signedBy } : {}),
      file,
    });
  }
  return sources;
}

/** Every enabled `deb` source of the machine (`/etc/apt/sources.list` and `sources.list.d`). */
export async function readMachineSources(etcApt = '/etc/apt'): Promise<AptSource[]> {
  const sources: AptSource[] = [];
  const list = join(etcApt, 'sources.list');
  const text = await readFile(list, 'utf8').catch(() => '');
  sources.push(...parseOneLineSources(text, list));
  const dir = join(etcApt, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names) {
    const file = join(dir, name);
    if (name.endsWith('.list'))
      sources.push(...parseOneLineSources(await readFile(file, 'utf8'), file));
    if (name.endsWith('.sources'))
      sources.push(...parseDeb822Sources(await readFile(file, 'utf8'), file));
  }
  return sources;
}

/** The machine's distribution and codename, from /etc/os-release. */
export async function machineRelease(
  osRelease = '/etc/os-release',
): Promise<{ distro: string; codename: string }> {
  const text = await readFile(osRelease, 'utf8').catch(() => '');
  const value = (key: string) =>
    new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1]?.trim().toLowerCase() ?? '';
  return { distro: value('ID'), codename: value('VERSION_CODENAME') };
}

/**
 * The private deb822 sources for `release`: the machine's sources of the same
 * distribution, with their suites (`bookworm`, `bookworm-updates`, `bookworm-security`)
 * moved to the target codename. Throws naming the files read when none fits.
 */
export function privateSourcesFor(
  release: OsRelease,
  machine: { distro: string; codename: string },
  sources: readonly AptSource[],
): string {
  const target = RELEASE_CODENAMES[release];
  const stanzas: string[] = [];
  if (machine.distro === target.distro && machine.codename) {
    for (const s of sources) {
      const suites = s.suites
        .filter((suite) => suite === machine.codename || suite.startsWith(`${machine.codename}-`))
        .map((suite) => target.codename + suite.slice(machine.codename.length));
      if (suites.length === 0 || s.uris.length === 0) continue;
      stanzas.push(
        [
          'Types: deb',
          `URIs: ${s.uris.join(' ')}`,
          `Suites: ${suites.join(' ')}`,
          `Components: ${s.components.join(' ') || 'main'}`,
          ...(s.signedBy ? [`Signed-By: ${s.signedBy.replace(/\n/g, '\n ')}`] : []),
        ].join('\n'),
      );
    }
  }
  if (stanzas.length === 0) {
    const files = [...new Set(sources.map((s) => s.file))].join(', ') || '/etc/apt';
    throw new UstartError(
      'InvalidArgument',
      `no apt source of this machine (${files}) serves ${target.distro} ${target.codename} for ${release}; ` +
        `build the bundle on a ${target.distro} machine, or pass --apt-sources FILE with a deb822 sources file for ${target.codename}.`,
      { detail: { release } },
    );
  }
  return stanzas.join('\n\n') + '\n';
}

export interface DownloadedDeb {
  /** File name as apt stored it (`name_version_arch.deb`, an epoch's ':' written as `%3a`). */
  name: string;
  file: string;
}

/**
 * Downloads `packages` and their dependency closure (Depends and Pre-Depends, not
 * Recommends) into `workDir`, with apt's own resolver against a private state.
 */
export async function downloadPackageClosure(options: {
  packages: readonly string[];
  sourcesText: string;
  architecture: string;
  workDir: string;
  signal?: AbortSignal;
  onOutput?: (line: string) => void;
}): Promise<DownloadedDeb[]> {
  const { workDir } = options;
  const dirs = {
    state: join(workDir, 'state'),
    cache: join(workDir, 'cache'),
    parts: join(workDir, 'sources.list.d'),
    prefs: join(workDir, 'preferences.d'),
  };
  await mkdir(join(dirs.state, 'lists', 'partial'), { recursive: true });
  await mkdir(join(dirs.cache, 'archives', 'partial'), { recursive: true });
  await mkdir(dirs.parts, { recursive: true });
  await mkdir(dirs.prefs, { recursive: true });
  // An empty dpkg status: apt resolves as for a host with nothing installed, so the
  // closure is complete whatever this machine happens to have.
  await writeFile(join(dirs.state, 'status'), '');
  await writeFile(join(dirs.parts, 'ustart-bundle.sources'), options.sourcesText);
  const aptOptions = [
    `Dir::State=${dirs.state}`,
    `Dir::State::status=${join(dirs.state, 'status')}`,
    `Dir::Cache=${dirs.cache}`,
    'Dir::Etc::SourceList=/dev/null',
    `Dir::Etc::SourceParts=${dirs.parts}`,
    'Dir::Etc::Preferences=/dev/null',
    `Dir::Etc::PreferencesParts=${dirs.prefs}`,
    `APT::Architecture=${options.architecture}`,
    `APT::Architectures::=${options.architecture}`,
    'APT::Install-Recommends=false',
    // apt drops to the _apt user to download, which cannot enter our private temp folder.
    'APT::Sandbox::User=root',
  ].flatMap((o) => ['-o', o]);
  const apt = async (args: string[]) => {
    try {
      const { stdout, stderr } = await run('apt-get', [...aptOptions, ...args], {
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      for (const line of `${stdout}${stderr}`.split('\n')) if (line) options.onOutput?.(line);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
      const detail = (err.stderr || err.stdout || err.message)
        .trim()
        .split('\n')
        .slice(-6)
        .join('\n');
      throw new UstartError(
        err.code === 'ENOENT' ? 'InvalidArgument' : 'WriteFailed',
        err.code === 'ENOENT'
          ? 'apt-get is not installed; bundles with Debian packages are built on Debian or Ubuntu.'
          : `apt-get ${args[0]} failed for the bundle's private apt state (${workDir}):\n${detail}\n` +
              'Check that this machine reaches its configured mirrors and that the package names exist for the release.',
        { cause: e },
      );
    }
  };
  await apt(['update']);
  await apt([
    'install',
    '--download-only',
    '--yes',
    '--no-install-recommends',
    ...options.packages,
  ]);
  const archives = join(dirs.cache, 'archives');
  const names = (await readdir(archives)).filter((n) => n.endsWith('.deb')).sort();
  return names.map((name) => ({ name, file: join(archives, name) }));
}

/** This machine's Debian architecture (`dpkg --print-architecture`), or amd64 when dpkg is absent. */
export async function machineArchitecture(): Promise<string> {
  try {
    return (await run('dpkg', ['--print-architecture'])).stdout.trim() || 'amd64';
  } catch {
    return 'amd64';
  }
}
