/**
 * A small POSIX-shell subset for the demo hosts: enough for the commands uStart itself
 * sends (checksums, renames, the cluster lock, the facts snippet) and for what a person
 * types at the demo prompt. Lists (`;`, newlines, `&&`, `||`), pipes, `( … )`,
 * `if … then … else … fi`, redirections (`>`, `>>`, `<`, `2>`, `>&2`, `2>&1`), quotes and
 * `$VAR`. Anything else answers like a shell that lacks it, with exit 127 or 2.
 */

export type Redirect =
  | { fd: 1 | 2; op: '>' | '>>'; target: string }
  | { fd: 0; op: '<'; target: string }
  | { fd: 1 | 2; op: 'dup'; to: 1 | 2 };

export type Node =
  | { type: 'simple'; assigns: [string, string][]; argv: string[]; redirects: Redirect[] }
  | { type: 'subshell'; body: Node; redirects: Redirect[] }
  | { type: 'if'; cond: Node; then: Node; else?: Node; redirects: Redirect[] }
  | { type: 'pipe'; parts: Node[] }
  | { type: 'and' | 'or'; left: Node; right: Node }
  | { type: 'list'; items: Node[] };

type Token = { kind: 'word'; text: string; quoted: boolean } | { kind: 'op'; text: string };

export class ShellSyntaxError extends Error {}

const OPS = [
  '&&',
  '||',
  '>>',
  '2>>',
  '2>&1',
  '>&2',
  '1>&2',
  '2>',
  '>',
  '<',
  '|',
  ';',
  '\n',
  '(',
  ')',
  '&',
];

/** Splits a command line into words and operators; `vars` expands `$NAME` outside single quotes. */
export function tokenize(src: string, vars: (name: string) => string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const op = OPS.find(
      (o) => src.startsWith(o, i) && (o[0] !== '2' && o[0] !== '1' ? true : isWordStart(src, i)),
    );
    if (op) {
      out.push({ kind: 'op', text: op === '1>&2' ? '>&2' : op });
      i += op.length;
      continue;
    }
    let text = '';
    let quoted = false;
    while (i < src.length) {
      const ch = src[i]!;
      if (' \t\n;&|()<>'.includes(ch)) break;
      if (ch === "'") {
        const end = src.indexOf("'", i + 1);
        if (end < 0) throw new ShellSyntaxError('unterminated quoted string');
        text += src.slice(i + 1, end);
        quoted = true;
        i = end + 1;
      } else if (ch === '"') {
        i++;
        quoted = true;
        while (i < src.length && src[i] !== '"') {
          if (src[i] === '\\' && '"\\$`'.includes(src[i + 1] ?? '')) {
            text += src[i + 1];
            i += 2;
          } else if (src[i] === '$') {
            const v = readVar(src, i, vars);
            text += v.value;
            i = v.end;
          } else text += src[i++];
        }
        if (src[i] !== '"') throw new ShellSyntaxError('unterminated quoted string');
        i++;
      } else if (ch === '\\') {
        text += src[i + 1] ?? '';
        i += 2;
      } else if (ch === '$') {
        const v = readVar(src, i, vars);
        text += v.value;
        i = v.end;
      } else text += src[i++];
    }
    // An unquoted word that expanded to nothing is no word at all (`$UNSET cmd` runs cmd).
    if (text !== '' || quoted) out.push({ kind: 'word', text, quoted });
  }
  return out;
}

/** A digit is a file descriptor only at the start of a word (`2>`), not inside one (`a2>`). */
function isWordStart(src: string, i: number): boolean {
  return i === 0 || ' \t\n;&|()'.includes(src[i - 1]!);
}

function readVar(
  src: string,
  i: number,
  vars: (name: string) => string,
): { value: string; end: number } {
  if (src[i + 1] === '{') {
    const close = src.indexOf('}', i);
    if (close < 0) throw new ShellSyntaxError('bad substitution');
    return { value: vars(src.slice(i + 2, close)), end: close + 1 };
  }
  if (src[i + 1] === '(')
    throw new ShellSyntaxError('command substitution is not available in the demo shell');
  const m = /^(\$|\?|[A-Za-z_][A-Za-z0-9_]*|[0-9])/.exec(src.slice(i + 1));
  if (!m) return { value: '$', end: i + 1 };
  return { value: vars(m[1]!), end: i + 1 + m[1]!.length };
}

/** Parses tokens into a command tree. */
export function parse(tokens: Token[]): Node {
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (t: Token | undefined, ...ops: string[]) => t?.kind === 'op' && ops.includes(t.text);
  const isWord = (t: Token | undefined, w: string) =>
    t?.kind === 'word' && !t.quoted && t.text === w;
  const skipNewlines = () => {
    while (isOp(peek(), '\n')) pos++;
  };

  const list = (...stops: string[]): Node => {
    const items: Node[] = [];
    skipNewlines();
    while (pos < tokens.length && !isOp(peek(), ')') && !stops.some((s) => isWord(peek(), s))) {
      items.push(andOr());
      if (isOp(peek(), '&'))
        throw new ShellSyntaxError('background jobs are not available in the demo shell');
      if (isOp(peek(), ';', '\n')) {
        pos++;
        skipNewlines();
      } else break;
    }
    return items.length === 1 ? items[0]! : { type: 'list', items };
  };
  const andOr = (): Node => {
    let left = pipeline();
    while (isOp(peek(), '&&', '||')) {
      const op = (tokens[pos++] as { text: string }).text;
      skipNewlines();
      left = { type: op === '&&' ? 'and' : 'or', left, right: pipeline() };
    }
    return left;
  };
  const pipeline = (): Node => {
    const parts = [command()];
    while (isOp(peek(), '|')) {
      pos++;
      skipNewlines();
      parts.push(command());
    }
    return parts.length === 1 ? parts[0]! : { type: 'pipe', parts };
  };
  const redirects = (into: Redirect[]): boolean => {
    const t = peek();
    if (t?.kind !== 'op') return false;
    if (t.text === '>&2') {
      pos++;
      into.push({ fd: 1, op: 'dup', to: 2 });
      return true;
    }
    if (t.text === '2>&1') {
      pos++;
      into.push({ fd: 2, op: 'dup', to: 1 });
      return true;
    }
    if (['>', '>>', '2>', '2>>', '<'].includes(t.text)) {
      pos++;
      const target = tokens[pos++];
      if (target?.kind !== 'word') throw new ShellSyntaxError(`syntax error near ${t.text}`);
      if (t.text === '<') into.push({ fd: 0, op: '<', target: target.text });
      else
        into.push({
          fd: t.text.startsWith('2') ? 2 : 1,
          op: t.text.endsWith('>>') ? '>>' : '>',
          target: target.text,
        });
      return true;
    }
    return false;
  };
  const expect = (word: string) => {
    if (!isWord(peek(), word)) throw new ShellSyntaxError(`syntax error: "${word}" expected`);
    pos++;
  };
  const command = (): Node => {
    const t = peek();
    if (isOp(t, '(')) {
      pos++;
      const body = list();
      if (!isOp(peek(), ')')) throw new ShellSyntaxError('syntax error: ")" expected');
      pos++;
      const rs: Redirect[] = [];
      while (redirects(rs));
      return { type: 'subshell', body, redirects: rs };
    }
    if (isWord(t, 'if')) {
      pos++;
      const cond = list('then');
      expect('then');
      const then = list('else', 'fi');
      let otherwise: Node | undefined;
      if (isWord(peek(), 'else')) {
        pos++;
        otherwise = list('fi');
      }
      expect('fi');
      const rs: Redirect[] = [];
      while (redirects(rs));
      return { type: 'if', cond, then, ...(otherwise ? { else: otherwise } : {}), redirects: rs };
    }
    const node: Extract<Node, { type: 'simple' }> = {
      type: 'simple',
      assigns: [],
      argv: [],
      redirects: [],
    };
    for (;;) {
      if (redirects(node.redirects)) continue;
      const w = peek();
      if (w?.kind !== 'word') break;
      pos++;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(w.text);
      if (m && node.argv.length === 0) node.assigns.push([m[1]!, m[2]!]);
      else node.argv.push(w.text);
    }
    if (!node.argv.length && !node.assigns.length) {
      const bad = peek();
      throw new ShellSyntaxError(
        `syntax error near unexpected token "${bad?.kind === 'op' ? bad.text.replace('\n', 'newline') : 'end of input'}"`,
      );
    }
    return node;
  };

  const tree = list();
  if (pos < tokens.length) {
    const bad = tokens[pos]!;
    throw new ShellSyntaxError(`syntax error near unexpected token "${bad.text}"`);
  }
  return tree;
}

/** Output sinks and input of one command. */
export interface Io {
  stdin(): Promise<Buffer>;
  stdout(data: string | Uint8Array): void;
  stderr(data: string | Uint8Array): void;
  signal: AbortSignal;
}

/** The state a shell carries from command to command. Subshells get a copy. */
export interface ShellState {
  vars: Map<string, string>;
  cwd: string;
  /** `set -C`: `>` refuses to overwrite an existing file. */
  noclobber: boolean;
  lastStatus: number;
}

/** What the shell needs from the host it runs on. */
export interface ShellHost {
  run(argv: string[], io: Io, state: ShellState): Promise<number>;
  /** Opens a redirection target; undefined with an error message when it cannot. */
  openOutput(
    path: string,
    append: boolean,
    state: ShellState,
  ): { write(d: Uint8Array): void; close(): void } | string;
  readInput(path: string, state: ShellState): Buffer | string;
}

/** Raised by `exit`: unwinds to the top of the script with its status. */
export class ShellExit {
  constructor(readonly status: number) {}
}

export async function execute(
  node: Node,
  host: ShellHost,
  io: Io,
  state: ShellState,
): Promise<number> {
  if (io.signal.aborted) return 143;
  switch (node.type) {
    case 'list': {
      let status = 0;
      for (const item of node.items) status = await execute(item, host, io, state);
      return status;
    }
    case 'and': {
      const left = await execute(node.left, host, io, state);
      return left === 0 ? execute(node.right, host, io, state) : left;
    }
    case 'or': {
      const left = await execute(node.left, host, io, state);
      return left !== 0 ? execute(node.right, host, io, state) : left;
    }
    case 'pipe': {
      let input: Promise<Buffer> = io.stdin();
      let status = 0;
      for (const [i, part] of node.parts.entries()) {
        const last = i === node.parts.length - 1;
        const chunks: Buffer[] = [];
        const feed = input;
        status = await execute(
          part,
          host,
          {
            ...io,
            stdin: () => feed,
            stdout: last ? io.stdout : (d) => chunks.push(Buffer.from(d)),
          },
          state,
        );
        input = Promise.resolve(Buffer.concat(chunks));
      }
      return status;
    }
    case 'subshell':
      return withRedirects(node.redirects, host, io, state, (rio) =>
        execute(node.body, host, rio, { ...state, vars: new Map(state.vars) }).catch(
          (e: unknown) => {
            if (e instanceof ShellExit) return e.status;
            throw e;
          },
        ),
      );
    case 'if':
      return withRedirects(node.redirects, host, io, state, async (rio) => {
        if ((await execute(node.cond, host, rio, state)) === 0)
          return execute(node.then, host, rio, state);
        return node.else ? execute(node.else, host, rio, state) : 0;
      });
    case 'simple': {
      if (!node.argv.length) {
        for (const [k, v] of node.assigns) state.vars.set(k, v);
        return (state.lastStatus = 0);
      }
      const status = await withRedirects(node.redirects, host, io, state, (rio) =>
        host.run(node.argv, rio, state),
      );
      state.lastStatus = status;
      return status;
    }
    default:
      throw new Error(`unknown node ${(node as { type: string }).type}`);
  }
}

async function withRedirects(
  redirects: readonly Redirect[],
  host: ShellHost,
  io: Io,
  state: ShellState,
  body: (io: Io) => Promise<number>,
): Promise<number> {
  if (!redirects.length) return body(io);
  const sinks = { 1: io.stdout, 2: io.stderr };
  let stdin = io.stdin;
  const opened: { close(): void }[] = [];
  try {
    for (const r of redirects) {
      if (r.op === 'dup') {
        sinks[r.fd] = sinks[r.to];
      } else if (r.op === '<') {
        const data = host.readInput(r.target, state);
        if (typeof data === 'string') {
          io.stderr(`sh: 1: ${data}\n`);
          return 2;
        }
        stdin = () => Promise.resolve(data);
      } else if (r.target === '/dev/null') {
        sinks[r.fd] = () => undefined;
      } else {
        const out = host.openOutput(r.target, r.op === '>>', state);
        if (typeof out === 'string') {
          io.stderr(`sh: 1: ${out}\n`);
          return 2;
        }
        opened.push(out);
        sinks[r.fd] = (d) => out.write(typeof d === 'string' ? Buffer.from(d) : d);
      }
    }
    return await body({ ...io, stdin, stdout: sinks[1], stderr: sinks[2] });
  } finally {
    for (const o of opened) o.close();
  }
}
