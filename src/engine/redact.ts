/**
 * Replaces secret values (a sudo password, a token) in text before it reaches a log file,
 * an event or the journal. Streams are redacted across chunk boundaries: a chunk that ends
 * with the start of a secret is held back until the next chunk shows whether it is one.
 */

export const REDACTED = '[redacted]';

export class Redactor {
  private secrets: string[] = [];
  private pattern: RegExp | undefined;

  constructor(secrets: Iterable<string>) {
    this.add(secrets);
  }

  /** Hides more values from now on (step outputs become known during a run). */
  add(secrets: Iterable<string>): void {
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...new Set([...this.secrets, ...secrets].filter((s) => s.length > 0))].sort(
      (a, b) => b.length - a.length,
    );
    this.pattern = this.secrets.length
      ? new RegExp(this.secrets.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g')
      : undefined;
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }

  redact(text: string): string {
    return this.pattern ? text.replace(this.pattern, REDACTED) : text;
  }

  /** A redactor for one stream of chunks. */
  stream(): StreamRedactor {
    return new StreamRedactor(this);
  }

  /** Length of the longest tail of `text` that is a proper prefix of a secret. */
  heldTail(text: string): number {
    let held = 0;
    for (const s of this.secrets) {
      for (let k = Math.min(s.length - 1, text.length); k > held; k--) {
        if (text.endsWith(s.slice(0, k))) {
          held = k;
          break;
        }
      }
    }
    return held;
  }
}

export class StreamRedactor {
  private pending = '';

  constructor(private readonly redactor: Redactor) {}

  /** Returns what can be released now; may hold back a possible secret's start. */
  push(text: string): string {
    if (this.redactor.empty) return text;
    const all = this.redactor.redact(this.pending + text);
    const held = this.redactor.heldTail(all);
    this.pending = all.slice(all.length - held);
    return all.slice(0, all.length - held);
  }

  /** Releases whatever is held: the stream has ended. */
  end(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}
