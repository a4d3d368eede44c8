/**
 * Reading a site plan from YAML. Anything that stops the file from being read at all
 * (missing, too large, binary, not YAML, duplicate keys, written by a newer uStart) is a
 * thrown UstartError naming the file, line and column. Anything structurally wrong inside
 * valid YAML (a wrong type, an unknown field, a missing field) comes back as findings in the
 * same shape as validation findings, each with its path and line, so the user sees all of
 * them at once.
 */
import { CORE_SCHEMA, load as fastLoad } from 'js-yaml';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { UstartError, messageOf } from '../errors.js';
import { type Finding, pointer, segmentsOf } from './finding.js';
import { migrate } from './migrate.js';
import { Plan } from './schema.js';
import { openRegularFile, type UserFileOptions } from '../util/user-file.js';
import { assertYamlDepth, tooDeep } from '../util/yaml-depth.js';
import { closest } from './suggest.js';

/** Larger files are refused: a plan of 1,000 servers is about 1 MB. */
export const MAX_PLAN_BYTES = 10 * 1024 * 1024;

export interface ParsedPlan {
  file: string;
  /**
   * The YAML document, kept so that saving keeps the user's comments and key order. Built
   * on first use: it costs several times the plain parse, and opening a plan needs neither
   * it nor line numbers unless there is something to point at.
   */
  readonly document: Document;
  readonly lineCounter: LineCounter;
  /** The plan when it matches the schema; undefined when `findings` has schema errors. */
  plan: Plan | undefined;
  /** Schema findings (rule ids starting with `schema-`). Empty when `plan` is set. */
  findings: Finding[];
  /** The schema version the file was written in (older ones were migrated in memory). */
  fromVersion: number;
}

export async function loadPlanFile(
  file: string,
  options: Pick<UserFileOptions, 'noFollow' | 'within'> = {},
): Promise<ParsedPlan> {
  let bytes: Buffer;
  try {
    // Opened first and checked on the descriptor: a FIFO given as the plan would otherwise
    // block the read forever (issue 16).
    const handle = await openRegularFile(file, {
      ...options,
      what: 'plan',
      code: 'PlanUnreadable',
    });
    try {
      const info = await handle.stat();
      if (info.size > MAX_PLAN_BYTES) {
        throw new UstartError(
          'PlanUnreadable',
          `${file} is ${(info.size / 1024 / 1024).toFixed(1)} MB; a plan file may be at most 10 MB. Is this the right file?`,
          { detail: { file, size: info.size } },
        );
      }
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof UstartError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'cannot be read (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory, not a plan file'
            : code === 'ELOOP'
              ? 'is a symbolic link, which is not followed here; choose the file it points to'
              : `cannot be read (${code ?? String(e)})`;
    throw new UstartError('PlanUnreadable', `${file} ${why}.`, { cause: e, detail: { file } });
  }
  return parsePlanBytes(bytes, file);
}

export function parsePlanBytes(bytes: Uint8Array, file: string): ParsedPlan {
  if (bytes.length > MAX_PLAN_BYTES) {
    throw new UstartError(
      'PlanUnreadable',
      `${file} is larger than 10 MB; a plan file may be at most 10 MB.`,
    );
  }
  if (bytes.includes(0)) {
    throw new UstartError(
      'PlanUnreadable',
      `${file} is a binary file, not a YAML site plan. Open the .yaml file written by uStart.`,
      { detail: { file } },
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new UstartError(
      'PlanUnreadable',
      `${file} is not UTF-8 text. Save it as UTF-8 and open it again.`,
      { cause: e, detail: { file } },
    );
  }
  return parsePlanText(text, file);
}

export function parsePlanText(text: string, file: string): ParsedPlan {
  // A byte-order mark is legal but invisible; YAML would read it as part of the first key.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') {
    throw new UstartError(
      'PlanUnreadable',
      `${file} is empty. Create a plan with \`ustart plan new --sample demo --out ${file}\`.`,
      { detail: { file } },
    );
  }
  // Before any parser: both recurse per level and would run out of stack (issue 16).
  assertYamlDepth(text, file, 'PlanSyntax');
  const full = lazy(() => parseFull(text, file));
  let raw: unknown;
  try {
    raw = fastPath(text);
  } catch {
    // Anything the fast parser dislikes goes through the full parser, which names the
    // problem with yaml's own words, line and column (or accepts what js-yaml would not).
    raw = toJs(full().document, file);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UstartError(
      'PlanSyntax',
      `${file}: the top level must be a mapping with schemaVersion, site, networks, racks, servers, kubernetes, openstack and access.`,
      { detail: { file } },
    );
  }
  const { value, fromVersion } = migrate(raw, file);
  const parsed = Plan.safeParse(value);
  if (parsed.success) {
    return withLazyDocument({ file, plan: parsed.data, findings: [], fromVersion }, full);
  }
  const findings = parsed.error.issues.flatMap((issue) => schemaFindings(issue, value));
  const result = withLazyDocument({ file, plan: undefined, findings, fromVersion }, full);
  for (const f of findings) Object.assign(f, locate(result.document, result.lineCounter, f.path));
  return result;
}

/**
 * js-yaml reads a plan several times faster than yaml's document parser (measured 0.32 s
 * against 1.19 s for a 1,000-server plan); both read YAML 1.2's core schema alike. Files
 * with anchors or aliases take the full path, which bounds alias expansion.
 */
function fastPath(text: string): unknown {
  if (/(^|[\s[{,:-])[&*][^\s,[\]{}]/m.test(text)) throw new Error('anchors: use the full parser');
  return fastLoad(text, { schema: CORE_SCHEMA });
}

function parseFull(text: string, file: string): { document: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const first = document.errors[0];
  if (first && /call stack/i.test(first.message)) throw tooDeep(file, 'PlanSyntax');
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    const what =
      first.code === 'DUPLICATE_KEY'
        ? 'a key appears twice in the same mapping'
        : first.message.split('\n')[0];
    throw new UstartError(
      'PlanSyntax',
      `${file}:${pos.line}:${pos.col}: ${what}. Fix the YAML there and try again.`,
      {
        cause: first,
        detail: { file, line: pos.line, column: pos.col, yamlCode: first.code },
      },
    );
  }
  return { document, lineCounter };
}

function toJs(document: Document, file: string): unknown {
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (e) {
    if (e instanceof RangeError) throw tooDeep(file, 'PlanSyntax');
    // yaml parses `*name` without its anchor, or an alias bomb, and only fails on toJS.
    throw new UstartError(
      'PlanSyntax',
      `${file}: ${messageOf(e)}. Fix the YAML anchors (&name) and aliases (*name) and try again.`,
      { cause: e, detail: { file } },
    );
  }
}

function lazy<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/** Adds `document` and `lineCounter` as own getters, so copies of the object stay lazy. */
function withLazyDocument(
  fields: Omit<ParsedPlan, 'document' | 'lineCounter'>,
  full: () => { document: Document; lineCounter: LineCounter },
): ParsedPlan {
  return Object.defineProperties(fields, {
    document: { get: () => full().document, enumerable: true },
    lineCounter: { get: () => full().lineCounter, enumerable: true },
  }) as ParsedPlan;
}

/** A copy of a parsed plan with other fields; the document stays lazy and shared. */
export function copyParsed<T extends object>(parsed: ParsedPlan, extra: T): ParsedPlan & T {
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(parsed)) as ParsedPlan;
  return Object.assign(copy, extra);
}

/** Line and column (1-based) of the node at a JSON pointer, or of its nearest parent. */
export function locate(
  document: Document,
  lineCounter: LineCounter,
  ptr: string,
): { line?: number; column?: number } {
  let segments: unknown[] = segmentsOf(ptr).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  while (segments.length > 0) {
    const node = document.getIn(segments, true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
    segments = segments.slice(0, -1);
  }
  return {};
}

function schemaFindings(issue: z.core.$ZodIssue, value: unknown): Finding[] {
  const base = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const where = base.length ? pointer(...base) : '';
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const known = knownKeysAt(base);
        const guess = closest(key, known);
        return {
          rule: 'schema-unknown-field',
          severity: 'error' as const,
          path: pointer(...base, key),
          message: `unknown field "${key}"${where ? ` in ${where}` : ''}${guess ? `; did you mean "${guess}"?` : ''}`,
          hint: guess
            ? `Rename "${key}" to "${guess}", or remove it.`
            : `Remove "${key}"; the fields allowed here are: ${known.join(', ')}.`,
        };
      });
    case 'invalid_type': {
      const actual = valueAt(value, base);
      if (actual === undefined) return [missing(where, `expected ${article(issue.expected)}`)];
      return [
        {
          rule: 'schema-type',
          severity: 'error',
          path: where,
          message: `${where} must be ${article(issue.expected)}, not ${describe(actual)}`,
          hint: hintForType(issue.expected, actual),
        },
      ];
    }
    default:
      if (valueAt(value, base) === undefined) return [missing(where, issue.message)];
      return [
        {
          rule: 'schema-value',
          severity: 'error',
          path: where,
          message: `${where || 'the plan'}: ${issue.message}${describeActual(value, base)}`,
          hint: 'Correct the value; see docs/plan-format.md for what is allowed.',
        },
      ];
  }
}

function missing(where: string, expected: string): Finding {
  return {
    rule: 'schema-missing-field',
    severity: 'error',
    path: where,
    message: `${where || 'the plan'} is missing (${expected})`,
    hint: 'Add the field; see docs/plan-format.md for what it holds.',
  };
}

function describeActual(value: unknown, path: PropertyKey[]): string {
  const actual = valueAt(value, path);
  if (actual === undefined || typeof actual === 'object') return '';
  return ` (found ${JSON.stringify(actual)})`;
}

function hintForType(expected: string, actual: unknown): string {
  if ((expected === 'number' || expected === 'int') && typeof actual === 'string') {
    return `Write a plain number without units or quotes, such as ${Number.parseFloat(actual) || 1}.`;
  }
  if (expected === 'array') return 'Write a YAML list: one item per line, each starting with "- ".';
  if (expected === 'object')
    return 'Write a mapping: one "key: value" per line, indented under it.';
  if (expected === 'boolean') return 'Write true or false, without quotes.';
  return 'Correct the value; see docs/plan-format.md.';
}

function article(type: string): string {
  const name =
    type === 'int'
      ? 'whole number'
      : type === 'object'
        ? 'mapping'
        : type === 'array'
          ? 'list'
          : type;
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

function describe(x: unknown): string {
  if (x === null) return 'empty (null)';
  if (Array.isArray(x)) return 'a list';
  if (typeof x === 'object') return 'a mapping';
  return `${typeof x} ${JSON.stringify(x)}`;
}

function valueAt(value: unknown, path: PropertyKey[]): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** Field names the schema allows at a path, for "did you mean". */
function knownKeysAt(path: PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = Plan;
  for (const seg of path) {
    schema = unwrap(schema);
    if (!schema) return [];
    const def = schema._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'object') schema = (def.shape as Record<string, z.core.$ZodType>)[String(seg)];
    else if (def.type === 'array') schema = def.element as z.core.$ZodType;
    else if (def.type === 'record') schema = def.valueType as z.core.$ZodType;
    else return [];
  }
  schema = unwrap(schema);
  const def = schema?._zod.def as unknown as Record<string, unknown> | undefined;
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let s = schema;
  while (s) {
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') {
      s = def.innerType as z.core.$ZodType;
    } else break;
  }
  return s;
}
