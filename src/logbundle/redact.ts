/**
 * The log bundle's redactor. A support bundle leaves the site, so everything written into
 * it passes through here: the secrets the caller knows (the engine's `SecretSource`), and
 * patterns for secrets nobody told us about — a kubeadm join token in a kubelet log, an
 * `OS_PASSWORD=` in an install script's trace, a private key someone cat'ed.
 *
 * Text is handled in whole lines (patterns never span lines, except private-key blocks,
 * which a small state machine follows), so a stream and a whole file give the same result.
 * Known secrets are replaced before lines are split, by the engine's `StreamRedactor`,
 * which also finds a secret split across two chunks.
 */
import { REDACTED, Redactor, type StreamRedactor } from '../engine/redact.js';

export { REDACTED };

/** Shown in place of a whole private-key block. */
export const REDACTED_KEY = '[redacted private key]';

/** A line longer than this is redacted and written in pieces rather than held in memory. */
const MAX_HELD_LINE = 1 << 20;

interface Rule {
  /** Stable name, counted in the bundle's manifest. */
  name: string;
  re: RegExp;
  replace: (match: string, ...groups: string[]) => string;
}

/** Values that say "nothing here" and are kept, so the bundle shows which fields were empty. */
const EMPTY_VALUES = new Set(['""', "''", 'null', '~', 'true', 'false', REDACTED, `"${REDACTED}"`]);

/**
 * Keeps the value's quoting so a redacted JSON or YAML line still parses; a bare value
 * after a JSON key (`"pin": 1234`) becomes a JSON string.
 */
function quotedLike(value: string, head = ''): string {
  if (value.startsWith('\\"') || /\\"\s*[:=]\s*$/.test(head)) return `\\"${REDACTED}\\"`;
  if (value.startsWith('"') || /"\s*[:=]\s*$/.test(head)) return `"${REDACTED}"`;
  if (value.startsWith("'")) return `'${REDACTED}'`;
  return REDACTED;
}

const SECRET_KEY =
  '[A-Za-z0-9_.-]*?(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|credentials?)';
/** A JSON string, a JSON string inside a JSON string, a single-quoted string, or a bare word. */
const VALUE = `"(?:[^"\\\\\n]|\\\\.)*"|\\\\"(?:[^"\\\\\n]|\\\\[^"\n])*?\\\\"|'[^'\n]*'|[^\\s,;&}\\]]+`;

/**
 * The patterns, in the order they are applied. `--discovery-token-ca-cert-hash` is kept on
 * purpose: it is the public hash of the cluster CA, which support needs to check a join.
 */
export const SECRET_RULES: readonly Rule[] = [
  {
    name: 'private-key',
    re: /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g,
    replace: () => REDACTED_KEY,
  },
  {
    name: 'authorization-header',
    re: /\b((?:proxy-)?authorization(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?[ \t]*(?:(?:bearer|basic|token|negotiate|digest)[ \t]+)?)([^\s"',;\\]+)/gi,
    replace: (_m, head) => `${head}${REDACTED}`,
  },
  {
    name: 'bearer-token',
    re: /\b(bearer[ \t]+)([A-Za-z0-9\-._~+/]{8,}=*)/gi,
    replace: (_m, head) => `${head}${REDACTED}`,
  },
  {
    name: 'secret-flag',
    re: /(--(?:token|discovery-token|tls-bootstrap-token|certificate-key|password|passwd|passphrase|secret|client-secret|api-key|os-password|os-token|key-password)(?:=|[ \t]+))("[^"\n]*"|'[^'\n]*'|[^\s"']+)/g,
    replace: (_m, head, value) => `${head}${quotedLike(value)}`,
  },
  {
    name: 'url-credentials',
    re: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(@)/gi,
    replace: (_m, head, _pw, at) => `${head}${REDACTED}${at}`,
  },
  {
    name: 'jwt',
    re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g,
    replace: () => REDACTED,
  },
  {
    name: 'secret-field',
    re: new RegExp(
      `(?<![A-Za-z0-9_.-])(${SECRET_KEY}(?:\\\\?["'])?[ \\t]*[:=][ \\t]*)(${VALUE})`,
      'gi',
    ),
    replace: (match, head, value) =>
      EMPTY_VALUES.has(value) ? match : `${head}${quotedLike(value, head)}`,
  },
  {
    name: 'kubeadm-token',
    re: /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g,
    replace: () => REDACTED,
  },
  {
    name: 'aws-access-key-id',
    re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g,
    replace: () => REDACTED,
  },
];

const KEY_BEGIN = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----/;

/** How many values each rule replaced (and `known` for the caller's secrets). */
export type RedactionCounts = Record<string, number>;

/**
 * Redacts text for the log bundle. One instance per bundle: it counts what it replaced,
 * for the manifest.
 */
export class BundleRedactor {
  private readonly known: Redactor;
  readonly counts: RedactionCounts = {};
  /** How many distinct known secret values this redactor hides. */
  readonly knownSecrets: number;

  /** @param secrets values that must never appear (a sudo password, a token the run used) */
  constructor(secrets: Iterable<string> = []) {
    const values = new Set([...secrets].filter((s) => s.length > 0));
    this.known = new Redactor(values);
    this.knownSecrets = values.size;
  }

  /** Redacts a whole text (a manifest, a short file). */
  redact(text: string): string {
    const s = this.stream();
    return s.push(text) + s.end();
  }

  /** A redactor for one stream of text chunks; see `LineRedactor`. */
  stream(): LineRedactor {
    return new LineRedactor(this, this.known.stream());
  }

  /** @internal */
  count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }

  /** @internal The rules, on whole lines (none of them reaches across a newline). */
  applyRules(line: string): string {
    let out = line;
    for (const rule of SECRET_RULES) {
      out = out.replace(rule.re, (...args: unknown[]) => {
        const match = args[0] as string;
        const groups = args.slice(1).filter((a): a is string => typeof a === 'string');
        const replaced = rule.replace(match, ...groups);
        if (replaced !== match) this.count(rule.name);
        return replaced;
      });
    }
    return out;
  }
}

function marks(text: string): number {
  return text.split(REDACTED).length - 1;
}

/**
 * Redacts a stream: `push` returns the text that is safe to write now (whole lines), `end`
 * the rest. A private-key block that spans lines is replaced by one `[redacted private
 * key]` line, whatever its length.
 */
export class LineRedactor {
  private held = '';
  private inKey: string | undefined;
  /** `[redacted]` marks that came in and went out of the known-secret pass, to count it. */
  private marksIn = 0;
  private marksOut = 0;

  constructor(
    private readonly owner: BundleRedactor,
    private readonly known: StreamRedactor,
  ) {}

  push(text: string): string {
    this.marksIn += marks(text);
    const released = this.known.push(text);
    this.marksOut += marks(released);
    return this.lines(this.held + released, false);
  }

  end(): string {
    const rest = this.known.end();
    this.marksOut += marks(rest);
    if (this.marksOut > this.marksIn) this.owner.count('known', this.marksOut - this.marksIn);
    this.marksIn = this.marksOut = 0;
    const out = this.lines(this.held + rest, true);
    this.inKey = undefined;
    return out;
  }

  private lines(text: string, final: boolean): string {
    const cut = text.lastIndexOf('\n') + 1;
    let tail = text.slice(cut);
    let out = this.block(text.slice(0, cut));
    // A line without end (a binary blob, a progress bar) is redacted in pieces instead of
    // growing without bound; a secret split at exactly that point is the accepted risk.
    if (final || tail.length > MAX_HELD_LINE) {
      out += (tail === '' ? undefined : this.line(tail)) ?? '';
      tail = '';
    }
    this.held = tail;
    return out;
  }

  /**
   * Whole lines. The rules never reach across a newline, so a block without a private key
   * in it is redacted in one pass per rule: that is what makes gigabytes of logs affordable.
   */
  private block(text: string): string {
    if (text === '') return '';
    if (this.inKey === undefined && !text.includes('PRIVATE KEY-----')) {
      return this.owner.applyRules(text);
    }
    let out = '';
    for (const l of text.slice(0, -1).split('\n')) {
      const r = this.line(l);
      if (r !== undefined) out += `${r}\n`;
    }
    return out;
  }

  /** One line, following a private-key block across lines. */
  private line(line: string): string | undefined {
    if (this.inKey !== undefined) {
      const end = `-----END ${this.inKey}PRIVATE KEY-----`;
      const at = line.indexOf(end);
      if (at < 0) return undefined;
      this.inKey = undefined;
      const rest = line.slice(at + end.length);
      return rest.trim() === '' ? undefined : this.line(rest);
    }
    const out = this.owner.applyRules(line);
    const begin = KEY_BEGIN.exec(out);
    if (!begin) return out;
    // A key block that does not end on this line: keep what came before it, drop the rest.
    this.inKey = begin[1] ?? '';
    this.owner.count('private-key');
    return `${out.slice(0, begin.index)}${REDACTED_KEY}`;
  }
}
