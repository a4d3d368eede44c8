/** Where the CLI writes, and whether it may colour: swapped for a buffer in tests. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
  color: boolean;
  isTTY: boolean;
  /** The terminal's width in columns, when stdout is one. */
  columns?: () => number;
}

export function createOutput(): Output {
  const isTTY = Boolean(process.stdout.isTTY);
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY,
    color: isTTY && !process.env.NO_COLOR,
    columns: () => process.stdout.columns || 80,
  };
}

/** An Output that collects into strings, for tests and for --json wrappers. */
export function bufferOutput(): Output & { out: string; err: string } {
  const o = {
    out: '',
    err: '',
    color: false,
    isTTY: false,
    stdout(t: string) {
      o.out += t;
    },
    stderr(t: string) {
      o.err += t;
    },
  };
  return o;
}

/** The same output without colour or a terminal: what `--json` writes is for programs. */
export function plainOutput(out: Output): Output {
  return { stdout: out.stdout, stderr: out.stderr, color: false, isTTY: false };
}

const CODES = {
  red: 31,
  yellow: 33,
  green: 32,
  cyan: 36,
  dim: 2,
  bold: 1,
  magenta: 35,
  blue: 34,
} as const;
export type Color = keyof typeof CODES;

export function paint(out: Output, color: Color, text: string): string {
  return out.color ? `\x1b[${CODES[color]}m${text}\x1b[0m` : text;
}
