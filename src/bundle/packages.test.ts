/**
 * The runbook's package list (packages/apt.yaml) is complete: every package a script of the
 * default runbook installs by name is in it, so an air-gapped bundle holds it. Derived from
 * the scripts themselves, so a new `apt_install foo` fails here until apt.yaml has foo.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GENERATOR_NAMES } from '../render/generators/index.js';
import { defaultRunbookDir, loadRunbook } from '../runbook/load.js';
import { runbookPackageGroups, runbookPackages } from './packages.js';

const ROOT = defaultRunbookDir();

/** A package name as a script names it literally (Debian policy §5.6.1). */
const LITERAL = /^[a-z0-9][a-z0-9+.-]+$/;
/** apt options that take a value: the value is not a package. */
const VALUE_OPTIONS = new Set(['-o', '--option', '-t', '--target-release', '-c', '--config-file']);

interface Named {
  verb: 'install' | 'purge';
  pkg: string;
  where: string;
}

/**
 * The packages a shell script installs or removes by a literal name: the arguments of
 * `apt_install`, `apt_purge` and `apt-get install|purge|remove`, up to the end of the simple
 * command. Arguments that are expansions (`"$tool"`) or options are not names.
 */
function namedPackages(text: string, file: string): Named[] {
  const found: Named[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    // A command continued with a backslash is one command, reported at its first line.
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i];
    const code = line.replace(/(^|\s)#.*$/, '');
    const call =
      /(?:^|[\s;&|({])(apt_install|apt_purge|apt-get((?:\s+-\S+(?:\s+[^-\s]\S*)?)*)\s+(install|purge|remove))\s+([^;&|)]*)/g;
    for (const m of code.matchAll(call)) {
      const verb = m[1] === 'apt_install' || m[3] === 'install' ? 'install' : 'purge';
      const words = m[4]!.trim().split(/\s+/);
      for (let w = 0; w < words.length; w++) {
        const word = words[w]!;
        if (VALUE_OPTIONS.has(word)) w++;
        else if (LITERAL.test(word)) found.push({ verb, pkg: word, where: `${file}:${start + 1}` });
      }
    }
  }
  return found;
}

/**
 * Names installed through a `case` branch that hands a variable to apt_install (the
 * Kubernetes tools, which the bundle carries as pinned binaries and a connected site may
 * take from its own sources): `kubeadm | kubelet | kubectl) apt_install "$tool" ;;`.
 */
function caseInstalled(text: string): string[] {
  const branch = /^\s*([a-z0-9+.\-\s|]+)\)\s*apt_install\s+"\$\{?\w+\}?"/gm;
  return [...text.matchAll(branch)].flatMap((m) => m[1]!.split('|').map((s) => s.trim()));
}

let named: Named[];
let viaCase: string[];

beforeAll(async () => {
  const scripts = join(ROOT, 'scripts');
  const files = (await readdir(scripts, { recursive: true })).filter((f) => f.endsWith('.sh'));
  named = [];
  viaCase = [];
  for (const f of files.sort()) {
    const text = await readFile(join(scripts, f), 'utf8');
    named.push(...namedPackages(text, relative(ROOT, join(scripts, f))));
    viaCase.push(...caseInstalled(text));
  }
});

describe('namedPackages', () => {
  it('reads literal names of every form, not options, their values or expansions', () => {
    const script = [
      'command -v openstack >/dev/null || apt_install python3-openstackclient',
      'apt_install chrony # not-a-package',
      '  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \\',
      '    -o DPkg::Lock::Timeout=900 "${missing[@]}" curl; echo done-here',
      'apt-get -o Debug::x=1 -y purge lib2to3 && apt_purge "$tool" git',
      'apt_install() {',
      '  kubeadm | kubelet) apt_install "$tool" ;;',
    ].join('\n');
    expect(namedPackages(script, 's.sh')).toEqual([
      { verb: 'install', pkg: 'python3-openstackclient', where: 's.sh:1' },
      { verb: 'install', pkg: 'chrony', where: 's.sh:2' },
      { verb: 'install', pkg: 'curl', where: 's.sh:3' },
      { verb: 'purge', pkg: 'lib2to3', where: 's.sh:5' },
      { verb: 'purge', pkg: 'git', where: 's.sh:5' },
    ]);
    expect(caseInstalled(script)).toEqual(['kubeadm', 'kubelet']);
  });
});

describe("the default runbook's packages/apt.yaml", () => {
  it('lists every package a script installs by name, so the bundle holds it', () => {
    const listed = new Set(runbookPackages());
    const installs = named.filter((n) => n.verb === 'install');
    expect(installs.length).toBeGreaterThan(3);
    expect(installs.filter((n) => !listed.has(n.pkg))).toEqual([]);
  });

  it('lists every package a reset purges, unless a step installs it from elsewhere', () => {
    const known = new Set([...runbookPackages(), ...viaCase]);
    const purges = named.filter((n) => n.verb === 'purge');
    expect(purges.length).toBeGreaterThan(3);
    expect(purges.filter((n) => !known.has(n.pkg))).toEqual([]);
  });

  it('names existing steps in the groups named like a step', async () => {
    const runbook = await loadRunbook([ROOT], { generators: GENERATOR_NAMES });
    const ids = new Set(runbook.steps.map((s) => s.id));
    const stepGroups = Object.keys(runbookPackageGroups()).filter((g) => g.includes('.'));
    expect(stepGroups.length).toBeGreaterThan(0);
    expect(stepGroups.filter((g) => !ids.has(g))).toEqual([]);
  });
});
