/**
 * A nesting limit for YAML a user hands us. Both YAML parsers recurse once per level, so a
 * file of 20,000 `[` (40 kB) ends in "Maximum call stack size exceeded" instead of a message
 * (issue 16). This scan runs before any parser: one pass over the text, counting block levels
 * (deeper indentation, `- ` and `? ` entries) and flow levels (`[`, `{`) outside quotes,
 * comments and block scalars. It may count a level too many or too few on odd layouts;
 * the limit is far above any real file and far below where a parser runs out of stack.
 */
import { UstartError, type ErrorCode } from '../errors.js';

/** Deepest nesting a plan (or another YAML input) may have; a site plan needs about 8. */
export const MAX_YAML_DEPTH = 64;

const SPACE = 0x20;
const TAB = 0x09;
/** What can open or close a level, or hide one: quotes, brackets, comments, block scalars. */
const SPECIAL = /["'[\]{}#|>]/g;

/** The first line nested deeper than `limit`, or undefined. */
export function lineTooDeep(text: string, limit = MAX_YAML_DEPTH): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | undefined;
  let blockScalarAbove: number | undefined;
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    let i = 0;
    while (i < line.length && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
    const indent = i;
    const blank = i >= line.length || line[i] === '\r';
    if (blockScalarAbove !== undefined) {
      if (blank || indent > blockScalarAbove) continue;
      blockScalarAbove = undefined;
    }
    if (blank && quote === undefined) continue;
    let depth = 0;
    if (quote === undefined && flow === 0) {
      if (line[i] === '#') continue;
      if (line.startsWith('---') || line.startsWith('...')) {
        indents.length = 0;
        continue;
      }
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
      // `- - - x`: each compact entry is one more level on the same line.
      while (
        (line[i] === '-' || line[i] === '?') &&
        (line[i + 1] === ' ' || i + 1 >= line.length)
      ) {
        depth++;
        i += 2;
        while (line[i] === ' ') i++;
      }
    }
    SPECIAL.lastIndex = i;
    if (quote === undefined && !SPECIAL.test(line)) {
      // Most lines are `key: value`: nothing on them opens or closes a level.
      if (indents.length + depth + flow > limit) return lineNo;
      continue;
    }
    let tokenStart = true; // a quote opens a quoted scalar only where a scalar may start
    let lastSignificant = -1;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (quote !== undefined) {
        if (quote === '"' && c === '\\') i++;
        else if (c === quote) {
          if (quote === "'" && line[i + 1] === "'") i++;
          else {
            quote = undefined;
            tokenStart = false;
            lastSignificant = i;
          }
        }
        continue;
      }
      if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) break;
      if ((c === '"' || c === "'") && tokenStart) {
        quote = c;
        continue;
      }
      if (c === '[' || c === '{') {
        flow++;
        if (indents.length + depth + flow > limit) return lineNo;
        tokenStart = true;
      } else if (c === ']' || c === '}') {
        flow = Math.max(0, flow - 1);
        tokenStart = false;
      } else if (c === ',' || c === ':' || c === '-' || c === '?') {
        tokenStart = true;
      } else if (c !== ' ' && c !== '\t' && c !== '\r') {
        tokenStart = false;
      }
      if (c !== ' ' && c !== '\t' && c !== '\r') lastSignificant = i;
    }
    if (indents.length + depth + flow > limit) return lineNo;
    if (quote === undefined && flow === 0 && lastSignificant >= 0) {
      const tail = line.slice(0, lastSignificant + 1);
      if (/(^|[\s:-])[|>][+-]?[0-9]?[+-]?$/.test(tail)) blockScalarAbove = indent;
    }
  }
  return undefined;
}

/** Throws a clear error naming the file, the line and the limit when `text` nests too deep. */
export function assertYamlDepth(
  text: string,
  file: string,
  code: ErrorCode,
  limit = MAX_YAML_DEPTH,
): void {
  const line = lineTooDeep(text, limit);
  if (line !== undefined) throw tooDeep(file, code, limit, line);
}

export function tooDeep(file: string, code: ErrorCode, limit = MAX_YAML_DEPTH, line?: number) {
  return new UstartError(
    code,
    `${file}${line === undefined ? '' : `:${line}`}: the YAML is nested more than ${limit} levels deep; uStart reads at most ${limit} levels (a site plan needs about 8). Check the file is the right one and flatten the nesting.`,
    { detail: { file, line, limit } },
  );
}
