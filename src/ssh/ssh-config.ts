/**
 * ~/.ssh/config read as OpenSSH's client reads it (ssh_config(5), readconf.c), for the
 * keywords uStart uses. Every rule below is a row in docs/upstream-facts.md (ids
 * `openssh.config.*`, read at openssh-portable V_9_2_P1, the client on the lab machines):
 *
 * - lines: keyword (any case) then arguments, `key value` or `key=value`; arguments split
 *   on blanks, with "double" and 'single' quotes and backslash escapes; `#` starts a
 *   comment where an argument would start (docs/upstream-facts.md#openssh.config.lexing);
 * - the first obtained value wins; IdentityFile accumulates (docs/upstream-facts.md#openssh.config.first-wins);
 * - `Host` patterns (`*`, `?`, `!negation`, one pattern per argument) are compared with the
 *   host as typed, case-sensitively; `Match host/originalhost` compare lowercased, with
 *   comma lists (docs/upstream-facts.md#openssh.config.host, #openssh.config.match);
 * - `Include` (relative to ~/.ssh, or /etc/ssh for the system file; `~`, absolute, globs,
 *   sorted), parse-only inside an inactive block, at most 16 deep (docs/upstream-facts.md#openssh.config.include);
 * - tokens: HostName takes `%h %%`; IdentityFile and UserKnownHostsFile take `~`, the
 *   client tokens and `${VAR}` (docs/upstream-facts.md#openssh.config.tokens).
 *
 * `Match final` asks for a second reading in which `final` and `canonical` are true (uStart
 * never canonicalises host names). What uStart cannot evaluate (`Match exec`, unknown
 * criteria, an unknown token) is refused with the file and line, when a lookup reaches it.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname as localHostName, homedir, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { UstartError } from '../errors.js';
import { readRegularFile } from '../util/user-file.js';

/** The values uStart uses, as OpenSSH would resolve them for one host. */
export interface SshConfigEntry {
  /** HostName with `%h` expanded, lowercased unless an address (as ssh.c does). */
  hostName?: string;
  user?: string;
  port?: number;
  /** Every IdentityFile of every matching block, in order, `~` and tokens expanded. */
  identityFiles?: string[];
  /** ProxyJump as written (`none` leaves it unset). */
  proxyJump?: string;
  /**
   * ProxyCommand as written (`none` leaves it unset). uStart's client cannot run one; the
   * target resolution refuses a host that has one (src/ssh/targets.ts).
   */
  proxyCommand?: string;
  strictHostKeyChecking?: 'yes' | 'no' | 'ask' | 'accept-new';
  userKnownHostsFiles?: string[];
  identitiesOnly?: boolean;
  /** Where each value came from: `FILE line N`. */
  from: Partial<Record<Exclude<keyof SshConfigEntry, 'from'>, string>>;
}

interface Line {
  kind: 'line';
  file: string;
  line: number;
  keyword: string;
  args: string[];
}
interface IncludeItem {
  kind: 'include';
  files: Item[][];
}
type Item = Line | IncludeItem;

interface Env {
  home: string;
  localUser: string;
  uid: number;
  thisHost: string;
  env: NodeJS.ProcessEnv;
}

const MAX_DEPTH = 16;

export class SshConfig {
  private constructor(
    private readonly roots: Item[][],
    private readonly e: Env,
  ) {}

  /**
   * Reads the user's file (default ~/.ssh/config) and then the system file (default
   * /etc/ssh/ssh_config), as `ssh` does without `-F`. A missing file reads as empty; pass
   * `systemFile: null` for `ssh -F FILE` (the user file only).
   */
  static async load(
    options: {
      file?: string;
      systemFile?: string | null;
      home?: string;
      localUser?: string;
      env?: NodeJS.ProcessEnv;
    } = {},
  ): Promise<SshConfig> {
    const info = userInfo();
    const e: Env = {
      home: options.home ?? homedir(),
      localUser: options.localUser ?? info.username,
      uid: info.uid,
      thisHost: localHostName(),
      env: options.env ?? process.env,
    };
    const roots: Item[][] = [];
    const user = options.file ?? join(e.home, '.ssh', 'config');
    roots.push((await readItems(user, true, e, 0, true)) ?? []);
    const system = options.systemFile === undefined ? '/etc/ssh/ssh_config' : options.systemFile;
    if (system !== null) roots.push((await readItems(system, false, e, 0, true)) ?? []);
    return new SshConfig(roots, e);
  }

  static empty(): SshConfig {
    const info = userInfo();
    return new SshConfig([], {
      home: homedir(),
      localUser: info.username,
      uid: info.uid,
      thisHost: localHostName(),
      env: process.env,
    });
  }

  /** What `ssh HOST` would use for `host` (the name as typed: the original host). */
  lookup(host: string): SshConfigEntry {
    const raw: Raw = { from: {} };
    const pass: Pass = { final: false, wantFinal: false };
    for (const items of this.roots) walk(items, host, raw, { active: true }, false, this.e, pass);
    if (pass.wantFinal) {
      // `Match final` asks for a second reading with the resolved host name, where `final`
      // and `canonical` are true; values already obtained keep winning
      // (docs/upstream-facts.md#openssh.config.match).
      const resolved = raw.hostName !== undefined ? resolvedHost(host, raw) : lowerHost(host);
      const second: Pass = { final: true, wantFinal: false, hostName: resolved };
      for (const items of this.roots)
        walk(items, host, raw, { active: true }, false, this.e, second);
    }
    return finish(host, raw, this.e);
  }
}

// ---------------------------------------------------------------------------------------
// Reading

async function readItems(
  file: string,
  userConf: boolean,
  e: Env,
  depth: number,
  top: boolean,
): Promise<Item[] | undefined> {
  let text: string;
  try {
    text = await readRegularFile(file, { what: 'SSH config', encoding: 'utf8' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UstartError(
      'InvalidArgument',
      `cannot read SSH config ${file}: ${(err as Error).message}${top ? '' : ' (an Include)'}`,
      { cause: err, detail: { file } },
    );
  }
  const items: Item[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const parsed = splitLine(lines[i]!, file, i + 1);
    if (!parsed) continue;
    const line: Line = { kind: 'line', file, line: i + 1, ...parsed };
    if (line.keyword !== 'include') {
      items.push(line);
      continue;
    }
    if (depth + 1 > MAX_DEPTH)
      throw refuse(line, `Include nests more than ${MAX_DEPTH} files deep (OpenSSH stops too)`);
    const files: Item[][] = [];
    for (const arg of line.args) {
      if (arg.startsWith('~') && !userConf)
        throw refuse(line, `bad include path ${arg}: a system file cannot include from ~`);
      const path =
        isAbsolute(arg) || arg.startsWith('~')
          ? arg
          : userConf
            ? `~/.ssh/${arg}`
            : `/etc/ssh/${arg}`;
      for (const match of await glob(tilde(path, e, line), line)) {
        const sub = await readItems(match, userConf, e, depth + 1, false);
        if (sub) files.push(sub);
      }
    }
    items.push({ kind: 'include', files });
  }
  return items;
}

/** Keyword and arguments of one line (strdelim, then argv_split); undefined for blank/comment. */
function splitLine(
  text: string,
  file: string,
  lineNo: number,
): Omit<Line, 'kind' | 'file' | 'line'> | undefined {
  const s = text.replace(/[ \t\r\f]+$/, '').replace(/^[ \t]+/, '');
  if (s === '' || s.startsWith('#')) return undefined;
  const m = /^([^ \t"=]+)[ \t]*(?:=[ \t]*)?(.*)$/.exec(s);
  if (!m) throw new UstartError('InvalidArgument', `${file} line ${lineNo}: cannot read "${s}"`);
  const keyword = m[1]!.toLowerCase();
  const args = splitArgs(m[2]!);
  if (args === undefined)
    throw new UstartError(
      'InvalidArgument',
      `${file} line ${lineNo}: invalid quotes in "${s}". Close the quote.`,
    );
  if (args.length === 0)
    throw new UstartError(
      'InvalidArgument',
      `${file} line ${lineNo}: no argument after keyword "${m[1]}"`,
    );
  return { keyword, args };
}

function splitArgs(s: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++;
      continue;
    }
    if (s[i] === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const c = s[i]!;
      const n = s[i + 1];
      if (c === '\\' && (n === "'" || n === '"' || n === '\\' || (quote === '' && n === ' '))) {
        arg += n;
        i++;
      } else if (quote === '' && (c === ' ' || c === '\t')) break;
      else if (quote === '' && (c === '"' || c === "'")) quote = c;
      else if (quote !== '' && c === quote) quote = '';
      else arg += c;
    }
    if (quote !== '') return undefined;
    out.push(arg);
  }
  return out;
}

/** glob(3) with GLOB_TILDE already applied: sorted matches, `*` skips dot files. */
async function glob(pattern: string, line: Line): Promise<string[]> {
  if (!/[*?[]/.test(pattern)) return [pattern];
  if (!isAbsolute(pattern)) throw refuse(line, `Include ${pattern} is not an absolute path`);
  let paths = ['/'];
  for (const part of pattern.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const dir of paths) {
      if (!/[*?[]/.test(part)) {
        next.push(join(dir, part));
        continue;
      }
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      const re = globRegExp(part);
      for (const name of names.sort())
        if (re.test(name) && (part.startsWith('.') || !name.startsWith('.')))
          next.push(join(dir, name));
    }
    paths = next;
  }
  return paths.sort();
}

function globRegExp(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = part.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = part
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

// ---------------------------------------------------------------------------------------
// Evaluating

interface Raw {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  proxyJump?: string;
  proxyCommand?: string;
  strictHostKeyChecking?: SshConfigEntry['strictHostKeyChecking'];
  userKnownHostsFiles?: string[];
  identitiesOnly?: boolean;
  from: SshConfigEntry['from'];
}

interface Pass {
  final: boolean;
  /** A `Match final` was seen: read again with `final` true. */
  wantFinal: boolean;
  /** In the final pass, the resolved host name `Match host` compares. */
  hostName?: string;
}

function walk(
  items: Item[],
  host: string,
  raw: Raw,
  state: { active: boolean },
  neverMatch: boolean,
  e: Env,
  pass: Pass,
): void {
  for (const item of items) {
    if (item.kind === 'include') {
      const outer = state.active;
      for (const file of item.files) {
        walk(file, host, raw, state, neverMatch || !outer, e, pass);
        state.active = outer; // an included file's Host/Match never leaks out
      }
      continue;
    }
    if (item.keyword === 'host') {
      state.active = false;
      if (neverMatch) continue;
      for (const arg of item.args) {
        const negated = arg.startsWith('!');
        if (matchPattern(host, negated ? arg.slice(1) : arg)) {
          if (negated) {
            state.active = false;
            break;
          }
          state.active = true;
        }
      }
      continue;
    }
    if (item.keyword === 'match') {
      const value = matchLine(item, host, raw, e, pass);
      state.active = neverMatch ? false : value;
      continue;
    }
    if (state.active) apply(item, raw);
  }
}

/** match_cfg_line for host, originalhost, user, localuser, all, canonical, final. */
function matchLine(item: Line, originalHost: string, raw: Raw, e: Env, pass: Pass): boolean {
  const host =
    pass.hostName ??
    (raw.hostName !== undefined ? expand(raw.hostName, { h: originalHost }, item) : originalHost);
  const ruser = raw.user ?? e.localUser;
  let result = true;
  let attributes = 0;
  const args = item.args;
  for (let i = 0; i < args.length; i++) {
    let attr = args[i]!;
    const negate = attr.startsWith('!');
    if (negate) attr = attr.slice(1);
    const a = attr.toLowerCase();
    if (a === 'all') {
      if (attributes > 1 || i + 1 < args.length)
        throw refuse(item, `'${args[i]}' cannot be combined with other Match attributes`);
      return result ? !negate : false;
    }
    attributes++;
    if (a === 'canonical' || a === 'final') {
      // uStart does not canonicalise host names: `canonical` and `final` are true only in
      // the second reading, which `Match final` asks for.
      if (a === 'final') pass.wantFinal = true;
      if (pass.final === negate) result = false;
      continue;
    }
    if (a === 'exec') {
      i++;
      if (!result) continue; // OpenSSH skips the command when an earlier criterion failed
      throw refuse(
        item,
        'Match exec runs a command to decide; uStart does not run commands from ~/.ssh/config. Put the hosts in a Host or Match host block',
      );
    }
    if (!MATCH_WITH_ARG.has(a))
      throw refuse(
        item,
        `Match ${attr} is not a Match criterion uStart knows (host, originalhost, user, localuser, canonical, final, all)`,
      );
    const arg = args[++i];
    if (arg === undefined) throw refuse(item, `missing Match criteria for ${attr}`);
    let r: boolean;
    if (a === 'host') r = matchPatternList(host.toLowerCase(), arg, true) === 1;
    else if (a === 'originalhost')
      r = matchPatternList(originalHost.toLowerCase(), arg, true) === 1;
    else if (a === 'user') r = matchPatternList(ruser, arg, false) === 1;
    else r = matchPatternList(e.localUser, arg, false) === 1;
    if (r === negate) result = false;
  }
  if (attributes === 0) throw refuse(item, 'one or more attributes required for Match');
  return result;
}

function lowerHost(h: string): string {
  return isIP(h) ? h : h.toLowerCase();
}

/** HostName with %h expanded, lowercased unless an address (ssh.c main). */
function resolvedHost(originalHost: string, raw: Raw): string {
  const m = /^(.*) line (\d+)$/.exec(raw.from.hostName ?? '');
  const line: Line = {
    kind: 'line',
    file: m?.[1] ?? '?',
    line: Number(m?.[2] ?? 0),
    keyword: 'hostname',
    args: [],
  };
  return lowerHost(expand(raw.hostName!, { h: originalHost }, line));
}

/** Criteria with an argument that uStart evaluates (exec is refused). */
const MATCH_WITH_ARG = new Set(['host', 'originalhost', 'user', 'localuser']);

function apply(item: Line, raw: Raw): void {
  const where = `${item.file} line ${item.line}`;
  const one = (): string => {
    if (item.args.length > 1)
      throw refuse(item, `${item.keyword} takes one value; remove the extra arguments`);
    return item.args[0]!;
  };
  switch (item.keyword) {
    case 'hostname':
      if (raw.hostName === undefined) {
        raw.hostName = one();
        raw.from.hostName = where;
      }
      return;
    case 'user':
      if (raw.user === undefined) {
        raw.user = one();
        raw.from.user = where;
      }
      return;
    case 'port': {
      const v = one();
      const port = /^\d+$/.test(v) ? Number(v) : NaN;
      if (!(port >= 1 && port <= 65535)) throw refuse(item, `bad port '${v}': give 1 to 65535`);
      if (raw.port === undefined) {
        raw.port = port;
        raw.from.port = where;
      }
      return;
    }
    case 'identityfile':
      one();
      // Duplicates are dropped, as add_identity_file does.
      if (raw.identityFiles?.includes(item.args[0]!)) return;
      raw.identityFiles = [...(raw.identityFiles ?? []), item.args[0]!];
      raw.from.identityFiles ??= where;
      return;
    // ProxyJump and ProxyCommand: whichever comes first wins, and `ProxyCommand none` holds
    // off a later ProxyJump while `ProxyJump none` does not hold off a ProxyCommand
    // (docs/upstream-facts.md#openssh.proxy-first-obtained; the test compares with ssh -G).
    case 'proxyjump': {
      const v = one();
      if (raw.proxyJump === undefined && raw.proxyCommand === undefined) {
        raw.proxyJump = v;
        raw.from.proxyJump = where;
      }
      return;
    }
    case 'proxycommand': {
      if (item.args.length === 0) throw refuse(item, 'ProxyCommand needs a command (or none)');
      const jumpSet = raw.proxyJump !== undefined && raw.proxyJump.toLowerCase() !== 'none';
      if (raw.proxyCommand === undefined && !jumpSet) {
        raw.proxyCommand = item.args.join(' ');
        raw.from.proxyCommand = where;
      }
      return;
    }
    case 'stricthostkeychecking': {
      const v = one().toLowerCase();
      const map: Record<string, SshConfigEntry['strictHostKeyChecking']> = {
        yes: 'yes',
        true: 'yes',
        no: 'no',
        false: 'no',
        off: 'no',
        ask: 'ask',
        'accept-new': 'accept-new',
      };
      if (!(v in map))
        throw refuse(
          item,
          `StrictHostKeyChecking ${item.args[0]}: give yes, no, ask or accept-new`,
        );
      if (raw.strictHostKeyChecking === undefined) {
        raw.strictHostKeyChecking = map[v];
        raw.from.strictHostKeyChecking = where;
      }
      return;
    }
    case 'identitiesonly': {
      const v = one().toLowerCase();
      if (!['yes', 'true', 'no', 'false'].includes(v))
        throw refuse(item, `IdentitiesOnly ${item.args[0]}: give yes or no`);
      if (raw.identitiesOnly === undefined) {
        raw.identitiesOnly = v === 'yes' || v === 'true';
        raw.from.identitiesOnly = where;
      }
      return;
    }
    case 'userknownhostsfile':
      if (raw.userKnownHostsFiles === undefined) {
        raw.userKnownHostsFiles = [...item.args];
        raw.from.userKnownHostsFiles = where;
      }
      return;
    default:
    // Keywords uStart does not use are left to ssh.
  }
}

function finish(originalHost: string, raw: Raw, e: Env): SshConfigEntry {
  const entry: SshConfigEntry = { from: raw.from };
  const at = (where: string | undefined): Line => {
    const m = /^(.*) line (\d+)$/.exec(where ?? '');
    return { kind: 'line', file: m?.[1] ?? '?', line: Number(m?.[2] ?? 0), keyword: '', args: [] };
  };
  let remoteHost = originalHost;
  if (raw.hostName !== undefined) {
    remoteHost = expand(raw.hostName, { h: originalHost }, at(raw.from.hostName));
    entry.hostName = isIP(remoteHost) ? remoteHost : remoteHost.toLowerCase();
  }
  if (!isIP(remoteHost)) remoteHost = remoteHost.toLowerCase();
  if (raw.user !== undefined) entry.user = raw.user;
  if (raw.port !== undefined) entry.port = raw.port;
  if (raw.proxyJump !== undefined && raw.proxyJump.toLowerCase() !== 'none')
    entry.proxyJump = raw.proxyJump;
  if (raw.proxyCommand !== undefined && raw.proxyCommand.toLowerCase() !== 'none')
    entry.proxyCommand = raw.proxyCommand;
  if (raw.strictHostKeyChecking) entry.strictHostKeyChecking = raw.strictHostKeyChecking;
  if (raw.identitiesOnly !== undefined) entry.identitiesOnly = raw.identitiesOnly;
  const port = String(raw.port ?? 22);
  const ruser = raw.user ?? e.localUser;
  const tokens: Record<string, string> = {
    d: e.home,
    h: remoteHost,
    i: String(e.uid),
    k: originalHost,
    l: e.thisHost,
    L: e.thisHost.split('.')[0]!,
    n: originalHost,
    p: port,
    r: ruser,
    u: e.localUser,
    C: createHash('sha1')
      .update(e.thisHost + remoteHost + port + ruser)
      .digest('hex'),
  };
  const path = (p: string, line: Line): string =>
    dollar(expand(tilde(p, e, line), tokens, line, p), e, line);
  if (raw.identityFiles) {
    const line = at(raw.from.identityFiles);
    const files = raw.identityFiles.filter((f) => f.toLowerCase() !== 'none');
    if (files.length) entry.identityFiles = files.map((f) => path(f, line));
  }
  if (raw.userKnownHostsFiles) {
    const list = raw.userKnownHostsFiles;
    if (!(list.length === 1 && list[0]!.toLowerCase() === 'none'))
      entry.userKnownHostsFiles = list.map((f) => path(f, at(raw.from.userKnownHostsFiles)));
    else entry.userKnownHostsFiles = [];
  }
  return entry;
}

// ---------------------------------------------------------------------------------------
// Patterns and tokens (match.c, misc.c)

/** match_pattern: `*` and `?`, case-sensitive. */
export function matchPattern(s: string, pattern: string): boolean {
  let re = '';
  for (const c of pattern)
    re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`, 's').test(s);
}

/** match_pattern_list: 1 on a match, -1 on a negated match, 0 otherwise. */
function matchPatternList(s: string, list: string, lower: boolean): number {
  let got = 0;
  for (let sub of list.split(',')) {
    if (lower) sub = sub.toLowerCase();
    const negated = sub.startsWith('!');
    if (matchPattern(s, negated ? sub.slice(1) : sub)) {
      if (negated) return -1;
      got = 1;
    }
  }
  return got;
}

function expand(s: string, tokens: Record<string, string>, line: Line, written = s): string {
  return s.replace(/%(.?)/g, (_, k: string) => {
    if (k === '%') return '%';
    const v = tokens[k];
    if (v === undefined)
      throw refuse(
        line,
        k === ''
          ? `"${written}" ends in a lone %; write %% for a percent sign`
          : `%${k} in "${written}" is a token uStart does not expand here (it knows ${Object.keys(
              tokens,
            )
              .map((t) => `%${t}`)
              .join(' ')} %%)`,
      );
    return v;
  });
}

function dollar(s: string, e: Env, line: Line): string {
  return s.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    const v = e.env[name];
    if (v === undefined)
      throw refuse(line, `environment variable \${${name}} in "${s}" is not set`);
    return v;
  });
}

function tilde(p: string, e: Env, line: Line): string {
  if (p === '~') return e.home;
  if (p.startsWith('~/')) return join(e.home, p.slice(2));
  if (p.startsWith('~')) throw refuse(line, `${p}: uStart expands only ~/ (your own home)`);
  return p;
}

function refuse(line: Line, what: string): UstartError {
  return new UstartError('InvalidArgument', `${line.file} line ${line.line}: ${what}.`, {
    detail: { file: line.file, line: line.line },
  });
}
