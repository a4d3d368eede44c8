/**
 * A terminal for tests of what the CLI draws: an `Output` that is a TTY of a given width,
 * and a screen that applies what is written to it as a terminal would (the few escapes the
 * CLI uses: cursor up, clear to the end of the screen or line, colours). Lines that wrap
 * are counted, so a test can prove none did: a wrapped line breaks redrawing in place.
 */
import type { Output } from '../../src/cli/output.js';

/** A control sequence: ESC [ number? letter. */
// eslint-disable-next-line no-control-regex -- the escape character is what it matches
const CSI = /^\x1b\[(\d*)([A-Za-z])/;

export interface FakeTerminal extends Output {
  /** Everything written, as written. */
  readonly raw: string;
  /** Each write, in order. */
  readonly writes: string[];
  /** The screen's lines now, without colours, trailing spaces cut. */
  screen(): string[];
  /** How many times a character went past the last column. */
  wraps(): number;
}

export function fakeTerminal(columns: number, opts: { color?: boolean } = {}): FakeTerminal {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let wraps = 0;
  let raw = '';
  const writes: string[] = [];
  const line = (r: number) => (rows[r] ??= []);

  const apply = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '\x1b' && text[i + 1] === '[') {
        const m = CSI.exec(text.slice(i));
        if (!m)
          throw new Error(
            `fake terminal: unknown escape at ${JSON.stringify(text.slice(i, i + 8))}`,
          );
        i += m[0].length - 1;
        const n = m[1] ? Number(m[1]) : 1;
        switch (m[2]) {
          case 'm':
            break;
          case 'A':
            row = Math.max(0, row - n);
            break;
          case 'K':
            line(row).length = Math.min(line(row).length, col);
            break;
          case 'J':
            line(row).length = Math.min(line(row).length, col);
            rows.length = row + 1;
            break;
          default:
            throw new Error(`fake terminal: escape ${m[0]} is not one the CLI should use`);
        }
        continue;
      }
      if (ch === '\r') {
        col = 0;
      } else if (ch === '\n') {
        // A terminal's output processing (ONLCR) turns \n into \r\n.
        row++;
        col = 0;
        line(row);
      } else {
        if (col >= columns) {
          wraps++;
          row++;
          col = 0;
        }
        const l = line(row);
        while (l.length < col) l.push(' ');
        l[col++] = ch;
      }
    }
  };

  return {
    color: opts.color ?? true,
    isTTY: true,
    columns: () => columns,
    stdout(text: string) {
      raw += text;
      writes.push(text);
      apply(text);
    },
    stderr() {},
    get raw() {
      return raw;
    },
    writes,
    screen: () => {
      const lines = rows.map((r) => r.join('').trimEnd());
      while (lines.length && !lines.at(-1)) lines.pop();
      return lines;
    },
    wraps: () => wraps,
  };
}
