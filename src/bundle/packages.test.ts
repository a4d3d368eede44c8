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

/**
 * Script text as bash sees its commands: comments, heredoc bodies and quoted text removed,
 * command substitutions (`$(…)`, backticks) kept, arithmetic (`((…))`, `$((…))`) and array
 * literals (`a=(…)`) blanked; line numbers kept.
 */
function codeOf(text: string): string {
  const lines: string[] = [];
  let heredoc: string | undefined;
  for (const line of text.split('\n')) {
    if (heredoc) {
      if (line.trim() === heredoc) heredoc = undefined;
      lines.push('');
      continue;
    }
    heredoc = /<<-?\s*['"]?(\w+)['"]?/.exec(line)?.[1];
    lines.push(line);
  }
  const s = lines.join('\n');
  let out = '';
  const stack: Array<'code' | 'dq' | 'sq' | 'sub' | 'bq'> = ['code'];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const top = stack.at(-1)!;
    if (c === '\n' && (top === 'sq' || top === 'dq')) out += '\n';
    else if (top === 'sq') {
      if (c === "'") stack.pop();
    } else if (c === '\\') i++;
    else if (c === '$' && s[i + 1] === '(' && s[i + 2] !== '(') {
      stack.push('sub');
      out += ' $( ';
      i++;
    } else if (c === '`') {
      if (top === 'bq') stack.pop();
      else stack.push('bq');
      out += top === 'bq' ? ' ) ' : ' $( ';
    } else if (top === 'dq') {
      if (c === '"') stack.pop();
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) {
      while (i + 1 < s.length && s[i + 1] !== '\n') i++;
    } else if (c === "'") stack.push('sq');
    else if (c === '"') stack.push('dq');
    else if (top === 'sub' && c === ')') {
      stack.pop();
      out += ' ) ';
    } else out += c;
  }
  return out.replace(/\$?\(\([^()]*\)\)/g, ' ').replace(/\b[A-Za-z_]\w*\+?=\([^()]*\)/g, ' ');
}

const KEYWORDS = new Set(
  'if then else elif fi for while until do done case esac in function select time ! { } [[ ]]'.split(
    ' ',
  ),
);
const BUILTINS = new Set(
  'alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt source suspend test times trap true type typeset ulimit umask unalias unset wait . : ['.split(
    ' ',
  ),
);
/** Words that run another command given to them: the command is the next word. */
const WRAPPERS = new Set(['sudo', 'env', 'nice', 'timeout', 'xargs']);

/** Every command a script calls by name (not builtins, keywords or the scripts' own functions). */
function calledCommands(text: string, file: string, functions: ReadonlySet<string>): Named[] {
  const found: Named[] = [];
  codeOf(text)
    .split('\n')
    .forEach((raw, i) => {
      // A case branch's pattern (`a | b)`) is not a command.
      const line = raw.replace(/^\s*[^()\s][^()]*\)(\s|$)/, ' ');
      const parts = line.split(
        /\$\(|&&|\|\||[;|(){}]|<\(|>\(|\b(?:then|do|else|if|elif|while|until|exec)\b|!|\bcommand\s+-v\b/,
      );
      for (const part of parts) {
        const words = part.trim().split(/\s+/).filter(Boolean);
        while (words[0] && /^[A-Za-z_]\w*(\[[^\]]*\])?\+?=/.test(words[0])) words.shift();
        while (words[0] && WRAPPERS.has(words[0])) {
          words.shift();
          while (words[0]?.startsWith('-')) words.shift();
        }
        const w = words[0];
        if (!w || KEYWORDS.has(w) || BUILTINS.has(w) || functions.has(w)) continue;
        if (!/^[a-z][a-z0-9._+-]*$/.test(w)) continue;
        found.push({ verb: 'install', pkg: w, where: `${file}:${i + 1}` });
      }
    });
  return found;
}

/**
 * Where each command the scripts call comes from. `always`: a package of priority required
 * (Essential or not), on every Debian and Ubuntu host, even a minimal image
 * (docs/upstream-facts.md#debian.minimal); `systemd`: the init system every supported OS
 * release boots with (Priority important; the runbook drives it); `runbook`: a package in
 * packages/apt.yaml that a step installs; `bundle`: a pinned binary of the bundle's bin/ the
 * kubernetes-packages step installs; `optional`: called only after `command -v` finds it.
 */
const COMMANDS: Record<
  string,
  { pkg: string; from: 'always' | 'systemd' | 'runbook' | 'bundle' | 'optional' }
> = {
  'apt-get': { pkg: 'apt', from: 'always' },
  'apt-mark': { pkg: 'apt', from: 'always' },
  awk: { pkg: 'mawk', from: 'always' },
  tar: { pkg: 'tar', from: 'always' },
  jq: { pkg: 'jq', from: 'runbook' },
  skopeo: { pkg: 'skopeo', from: 'runbook' },
  bash: { pkg: 'bash', from: 'always' },
  ...Object.fromEntries(
    'base64 basename cat chmod cp cut date dd df dirname head install mkdir mktemp mv nproc paste readlink rm rmdir sha256sum sleep sort stat tac tail tr uname wc'
      .split(' ')
      .map((c) => [c, { pkg: 'coreutils', from: 'always' as const }]),
  ),
  ...Object.fromEntries(
    'blkdiscard blkid lsblk setpriv wipefs'
      .split(' ')
      .map((c) => [c, { pkg: 'util-linux', from: 'always' as const }]),
  ),
  ...Object.fromEntries(
    'swapoff swapon umount'.split(' ').map((c) => [c, { pkg: 'mount', from: 'always' as const }]),
  ),
  cmp: { pkg: 'diffutils', from: 'always' },
  diff: { pkg: 'diffutils', from: 'always' },
  'dpkg-query': { pkg: 'dpkg', from: 'always' },
  getent: { pkg: 'libc-bin', from: 'always' },
  'update-ca-certificates': { pkg: 'ca-certificates', from: 'runbook' },
  find: { pkg: 'findutils', from: 'always' },
  grep: { pkg: 'grep', from: 'always' },
  sed: { pkg: 'sed', from: 'always' },
  hostname: { pkg: 'hostname', from: 'always' },
  systemctl: { pkg: 'systemd', from: 'systemd' },
  hostnamectl: { pkg: 'systemd', from: 'systemd' },
  timedatectl: { pkg: 'systemd', from: 'systemd' },
  // Ubuntu's network configuration (netplan.io, in every Ubuntu server); called on Ubuntu only.
  netplan: { pkg: 'netplan.io', from: 'systemd' },
  curl: { pkg: 'curl', from: 'runbook' },
  git: { pkg: 'git', from: 'runbook' },
  openssl: { pkg: 'openssl', from: 'runbook' },
  dmsetup: { pkg: 'dmsetup', from: 'runbook' },
  ip: { pkg: 'iproute2', from: 'runbook' },
  ss: { pkg: 'iproute2', from: 'runbook' },
  modprobe: { pkg: 'kmod', from: 'runbook' },
  modinfo: { pkg: 'kmod', from: 'runbook' },
  sysctl: { pkg: 'procps', from: 'runbook' },
  ping: { pkg: 'iputils-ping', from: 'runbook' },
  chronyc: { pkg: 'chrony', from: 'runbook' },
  ctr: { pkg: 'containerd', from: 'runbook' },
  openstack: { pkg: 'python3-openstackclient', from: 'runbook' },
  // lib.sh json_field reads the openstack client's JSON; python3 comes with the client (its
  // interpreter, a dependency of python3-openstackclient), and json_field runs only after it.
  python3: { pkg: 'python3-openstackclient', from: 'runbook' },
  'ssh-keygen': { pkg: 'openssh-client', from: 'runbook' },
  sgdisk: { pkg: 'gdisk', from: 'optional' },
  ...Object.fromEntries(
    ['kubeadm', 'kubectl', 'kubelet', 'helm', 'clusterctl'].map((c) => [
      c,
      { pkg: c, from: 'bundle' as const },
    ]),
  ),
};

describe('the commands the scripts call', () => {
  let calls: Named[];
  beforeAll(async () => {
    const scripts = join(ROOT, 'scripts');
    const files = (await readdir(scripts, { recursive: true })).filter((f) => f.endsWith('.sh'));
    const texts = await Promise.all(
      files.sort().map(async (f) => [f, await readFile(join(scripts, f), 'utf8')] as const),
    );
    const functions = new Set(
      texts.flatMap(([, t]) =>
        [...t.matchAll(/^\s*([A-Za-z_][\w-]*)\(\)\s*[{(]/gm)].map((m) => m[1]!),
      ),
    );
    calls = texts.flatMap(([f, t]) =>
      calledCommands(t, relative(ROOT, join(scripts, f)), functions),
    );
  });

  it('reads commands where bash runs them, not words in strings, comments or arithmetic', () => {
    const script = [
      'say "the kubelet is $(systemctl is-active kubelet)" # grep in a comment',
      "awk '{ print $1 }' file | sort -u && ! git diff --quiet",
      'x=(curl wget) ; ((up == 3)) || [[ -f /x ]] && sudo -E ip link',
      "cat <<'EOF'",
      'heredoc-word here',
      'EOF',
      '  kubeadm | kubectl) apt_install "$tool" ;;',
      'if ! cmp -s a b; then FOO=1 openssl version; fi',
    ].join('\n');
    expect(
      calledCommands(script, 's.sh', new Set(['say', 'apt_install'])).map((c) => c.pkg),
    ).toEqual(['systemctl', 'awk', 'sort', 'git', 'ip', 'cat', 'cmp', 'openssl']);
  });

  it('are each on every host, or installed by the runbook from the bundle', () => {
    expect(calls.length).toBeGreaterThan(100);
    const unknown = calls.filter((c) => !COMMANDS[c.pkg]).map((c) => `${c.pkg} (${c.where})`);
    expect(unknown, 'add each to COMMANDS with the package that has it').toEqual([]);
    const listed = new Set(runbookPackages());
    const missing = calls
      .map((c) => ({ ...c, source: COMMANDS[c.pkg]! }))
      .filter((c) => c.source.from === 'runbook' && !listed.has(c.source.pkg))
      .map((c) => `${c.pkg}: package ${c.source.pkg} is not in packages/apt.yaml (${c.where})`);
    expect(missing).toEqual([]);
  });

  it('every package named as a runbook command source is one a step installs by name', () => {
    const installed = new Set(named.filter((n) => n.verb === 'install').map((n) => n.pkg));
    const sources = new Set(
      Object.values(COMMANDS)
        .filter((s) => s.from === 'runbook')
        .map((s) => s.pkg),
    );
    expect([...sources].filter((p) => !installed.has(p))).toEqual([]);
  });
});
