/**
 * Getting plan values into shell scripts safely. Scripts never have a plan value pasted into
 * their text: each host gets an `env` file of variable assignments, every value single-quoted
 * here, which the scripts source. Single quotes are the one shell quoting with no special
 * characters inside, so the only thing to handle is the single quote itself.
 */
import { UstartError } from '../errors.js';

/** `value` as one shell word that expands to exactly `value` (POSIX sh and bash). */
export function shellQuote(value: string): string {
  if (value.includes('\0')) {
    throw new UstartError('InvalidArgument', 'a shell value cannot contain a NUL character');
  }
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A variable's value: a string, or a list that becomes a bash array. */
export type ShellValue = string | readonly string[];

const NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * A file of `NAME=value` lines for bash to source. Names are checked (a bad name would be
 * a command), values quoted; arrays become `NAME=('a' 'b')`. Lines keep the given order.
 */
export function envFile(vars: ReadonlyArray<readonly [string, ShellValue]>, header = ''): string {
  const lines = header ? header.split('\n').map((l) => `# ${l}`.trimEnd()) : [];
  for (const [name, value] of vars) {
    if (!NAME.test(name)) {
      throw new UstartError('InvalidArgument', `"${name}" is not a valid shell variable name`);
    }
    lines.push(
      typeof value === 'string'
        ? `${name}=${shellQuote(value)}`
        : `${name}=(${value.map(shellQuote).join(' ')})`,
    );
  }
  return lines.join('\n') + '\n';
}
