/**
 * How a remote command is wrapped so it can be killed for sure. OpenSSH's sshd ignores
 * the SSH "signal" channel request in practice, so a timeout or a cancel cannot rely on
 * it. sshd starts each command in a new session (setsid), so the login shell that runs our
 * wrapper is a process-group leader: the wrapper prints its PID (= the group id) on stderr
 * behind a random marker, then `exec`s the command, which keeps that PID. To kill, a
 * second exec signals the whole group and waits until `kill -0` says it is gone.
 *
 * With sudo, the password is written on stdin when sudo's random prompt shows on stderr,
 * never in argv or the environment; a second prompt (wrong password) gets no answer.
 */
import { randomBytes } from 'node:crypto';

import { shQuote } from '../util/sh-quote.js';

export { shQuote };

export interface WrappedCommand {
  /** The command line sent to sshd. */
  line: string;
  pgidMarker: string;
  /** Present for sudo: the prompt to answer and the marker written once sudo runs the command. */
  sudo?: { prompt: string; startMarker: string };
}

export function wrapCommand(
  command: string,
  sudo: false | 'password' | 'no-password',
): WrappedCommand {
  const token = randomBytes(8).toString('hex');
  const pgidMarker = `ustart-pgid-${token}`;
  const head = `printf '%s %s\\n' ${pgidMarker} "$$" >&2; exec `;
  if (!sudo) return { line: `${head}/bin/sh -c ${shQuote(command)}`, pgidMarker };
  const prompt = `[ustart-sudo-${token}]`;
  const startMarker = `ustart-run-${token}`;
  const inner = `printf '%s\\n' ${startMarker} >&2; exec /bin/sh -c "$1"`;
  // -k: always ask, so the password line is never mistaken for the command's stdin;
  // -n when no password is known: fail at once instead of waiting for one.
  const flags = sudo === 'password' ? `-k -S -p ${shQuote(prompt)}` : '-n';
  return {
    line: `${head}sudo ${flags} -- /bin/sh -c ${shQuote(inner)} ustart ${shQuote(command)}`,
    pgidMarker,
    sudo: { prompt, startMarker },
  };
}

/**
 * Kills process group `pgid` (TERM, then KILL after 3 s) and exits 0 once it is gone,
 * 1 when it is still there after 6 s. No `--` before the negative id: dash, Debian's
 * /bin/sh, rejects it in its kill builtin.
 *
 * "Gone" means `kill -0` says "No such process". "Operation not permitted" means a member
 * of the group is still there but belongs to another user (a step that runs `sudo` itself
 * without `sudo: true`): not gone, so the kill is reported unconfirmed instead of done
 * (docs/upstream-facts.md#posix.kill-eperm).
 */
export function killGroupScript(pgid: number): string {
  return [
    `p=${pgid}`,
    'kill -TERM -$p 2>/dev/null',
    'export LC_ALL=C',
    'alive() { e=$(kill -0 -$p 2>&1) && return 0; case $e in *"not permitted"*) return 0;; esac; return 1; }',
    'i=0',
    'while alive; do',
    '  i=$((i+1))',
    '  [ $i -eq 30 ] && kill -KILL -$p 2>/dev/null',
    '  [ $i -gt 60 ] && exit 1',
    '  sleep 0.1',
    'done',
    'exit 0',
  ].join('\n');
}

/** What the stderr filter saw and wants done. */
export interface StderrEvents {
  onPgid(pgid: number): void;
  /** sudo asks for the password (the first time) or again (the password was wrong). */
  onPrompt(first: boolean): void;
  /** The command itself runs now: user stdin may flow. */
  onStart(): void;
  /** Stderr bytes of the command itself. */
  onData(chunk: Uint8Array): void;
}

/**
 * Takes the wrapper's markers and sudo's prompts out of the head of stderr and passes the
 * rest through untouched. Only the head is buffered: once the command runs, chunks pass as
 * they come.
 */
export class StderrFilter {
  private head = '';
  private phase: 'pgid' | 'sudo' | 'pass' = 'pgid';
  private prompts = 0;

  constructor(
    private readonly wrapped: WrappedCommand,
    private readonly events: StderrEvents,
  ) {}

  write(chunk: Uint8Array): void {
    if (this.phase === 'pass') {
      this.events.onData(chunk);
      return;
    }
    this.head += Buffer.from(chunk).toString('latin1');
    this.scan();
  }

  /** At the end of the stream: whatever is still held back is the command's (or sudo's) own output. */
  flush(): void {
    if (this.head) this.events.onData(Buffer.from(this.head, 'latin1'));
    this.head = '';
  }

  private scan(): void {
    if (this.phase === 'pgid') {
      const m = new RegExp(`${this.wrapped.pgidMarker} (\\d+)\\n`).exec(this.head);
      if (!m) return;
      this.head = this.head.slice(0, m.index) + this.head.slice(m.index + m[0].length);
      this.events.onPgid(Number(m[1]));
      this.phase = this.wrapped.sudo ? 'sudo' : 'pass';
      if (this.phase === 'pass') this.events.onStart();
    }
    const sudo = this.wrapped.sudo;
    if (this.phase === 'sudo' && sudo) {
      let at: number;
      while ((at = this.head.indexOf(sudo.prompt)) >= 0) {
        this.head = this.head.slice(0, at) + this.head.slice(at + sudo.prompt.length);
        this.prompts += 1;
        this.events.onPrompt(this.prompts === 1);
      }
      const start = this.head.indexOf(`${sudo.startMarker}\n`);
      if (start < 0) return;
      const before = this.head.slice(0, start);
      const after = this.head.slice(start + sudo.startMarker.length + 1);
      this.head = '';
      this.phase = 'pass';
      if (before) this.events.onData(Buffer.from(before, 'latin1'));
      this.events.onStart();
      if (after) this.events.onData(Buffer.from(after, 'latin1'));
      return;
    }
    if (this.phase === 'pass' && this.head) {
      const rest = this.head;
      this.head = '';
      this.events.onData(Buffer.from(rest, 'latin1'));
    }
  }
}

/** What `wrapCommand` wrapped, read back from the command line sshd receives. */
export interface UnwrappedCommand {
  command: string;
  pgidMarker: string;
  /** Present for sudo: `prompt` only when a password is asked for (`sudo -S`). */
  sudo?: { prompt?: string; startMarker: string };
}

/**
 * The inverse of `wrapCommand`, for servers that simulate a host (the demo lab): kept next
 * to it so the two cannot drift apart. Undefined for a line `wrapCommand` did not make.
 */
export function unwrapCommand(line: string): UnwrappedCommand | undefined {
  const head = /^printf '%s %s\\n' (ustart-pgid-([0-9a-f]+)) "\$\$" >&2; exec /.exec(line);
  if (!head) return undefined;
  const pgidMarker = head[1]!;
  const rest = line.slice(head[0].length);
  if (rest.startsWith('/bin/sh -c ')) {
    const q = readShQuoted(rest, '/bin/sh -c '.length);
    return q && q.end === rest.length ? { command: q.value, pgidMarker } : undefined;
  }
  const sudo = /^sudo (?:-k -S -p '(\[ustart-sudo-[0-9a-f]+\])'|-n) -- \/bin\/sh -c /.exec(rest);
  if (!sudo) return undefined;
  const inner = readShQuoted(rest, sudo[0].length);
  if (!inner || !rest.startsWith(' ustart ', inner.end)) return undefined;
  const command = readShQuoted(rest, inner.end + ' ustart '.length);
  if (!command || command.end !== rest.length) return undefined;
  const startMarker = `ustart-run-${head[2]!}`;
  return {
    command: command.value,
    pgidMarker,
    sudo: sudo[1] ? { prompt: sudo[1], startMarker } : { startMarker },
  };
}

/** The process group `killGroupScript` kills, or undefined for any other script. */
export function killScriptTarget(script: string): number | undefined {
  const m = /^p=(\d+)\nkill -TERM -\$p /.exec(script);
  return m ? Number(m[1]) : undefined;
}

/** Reads one `shQuote`d word (`'…'` pieces joined by `\'`) starting at `at`. */
function readShQuoted(s: string, at: number): { value: string; end: number } | undefined {
  let value = '';
  let i = at;
  if (s[i] !== "'") return undefined;
  while (i < s.length && (s[i] === "'" || s.startsWith("\\'", i))) {
    if (s[i] === '\\') {
      value += "'";
      i += 2;
      continue;
    }
    const close = s.indexOf("'", i + 1);
    if (close < 0) return undefined;
    value += s.slice(i + 1, close);
    i = close + 1;
  }
  return { value, end: i };
}
