/**
 * Property-based tests: whatever a user (or a broken tool) writes into a plan file, loading
 * and validating it either returns findings of the documented shape or throws a UstartError
 * that names the file. Thousands of random and mutated plans, built from the demo so most
 * stay close enough to valid to reach the rules, not only the schema.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { isUstartError } from '../../errors.js';
import { assetPath } from '../../util/assets.js';
import { type Finding, SEVERITIES, segmentsOf } from '../finding.js';
import { checkParsed, type CheckedPlan } from '../index.js';
import { parsePlanText } from '../load.js';
import { Plan } from '../schema.js';
import { validatePlan } from './index.js';

const FILE = 'fuzzed-plan.yaml';
const DEMO_TEXT = readFileSync(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8');
const DEMO: unknown = parse(DEMO_TEXT);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = Array<string | number>;

/** Values a consultant's typo, a spreadsheet export or an attacker might put anywhere. */
const NASTY = [
  '',
  ' ',
  'ctl-01; rm -rf /',
  '$(reboot)',
  '`id`',
  'a|b&c>d',
  "'; DROP TABLE servers;--",
  '../../etc/passwd',
  '\u0000',
  'ünïcödé-höst',
  'x'.repeat(300),
  0,
  -1,
  1e300,
  -1e300,
  2 ** 53,
  0.5,
  Number.MAX_SAFE_INTEGER,
  true,
  null,
  [],
  {},
];

/** Values of the right shape for a field, grouped by shape, so mutated plans often still
 * pass the schema and reach the rules. */
const PLAUSIBLE = {
  ip: [
    '10.10.0.5',
    '10.10.0.0',
    '10.10.0.255',
    '10.10.0.11',
    '10.20.0.11',
    '10.9.0.11',
    '203.0.113.5',
    '8.8.8.8',
    '127.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
  ],
  cidr: [
    '10.10.0.0/24',
    '10.10.0.0/16',
    '10.0.0.0/8',
    '0.0.0.0/0',
    '10.20.0.7/30',
    '10.96.0.0/32',
    '10.244.0.0/31',
  ],
  mac: ['b0:7b:25:1a:00:01', 'B0:7B:25:1A:00:02', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00'],
  version: ['1.31.4', '1.10.0', 'v1.99.1'],
  name: [
    'mgmt',
    'storage',
    'tenant',
    'provider',
    'bmc',
    'management',
    'R01',
    'R02',
    'R99',
    'ctl-01',
    'cmp-01',
    'controller',
    'compute',
    'os',
    'ceph-osd',
    'data',
    'none',
    'hdd',
    'nvme',
    'production',
    'poc',
    '2025.1',
    'pool.ntp.org',
    'root',
    'CTL-01',
    'sto_01',
  ],
  number: [1, 2, 3, 4, 9000, 1500, 42, 60, 100, 0.1, 20000],
} as const;

function shapeOf(value: Json): keyof typeof PLAUSIBLE | undefined {
  if (typeof value === 'number') return 'number';
  if (typeof value !== 'string') return undefined;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(value)) return 'ip';
  if (/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(value)) return 'cidr';
  if (/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(value)) return 'mac';
  if (/^v?1\.\d+\.\d+$/.test(value)) return 'version';
  return 'name';
}

/** Walks from the root to a random node (containers included), using `at` for the choices. */
function randomPath(root: Json, at: number): Path {
  const path: Path = [];
  let node = root;
  let bits = at;
  for (;;) {
    const keys: Array<string | number> = Array.isArray(node)
      ? node.map((_, i) => i)
      : node !== null && typeof node === 'object'
        ? Object.keys(node)
        : [];
    // Stop at a container one time in four so lists and mappings get mutated whole too.
    if (keys.length === 0 || (path.length > 0 && bits % 4 === 0)) return path;
    const key = keys[(bits >>> 2) % keys.length]!;
    path.push(key);
    node = (node as Record<string | number, Json>)[key] as Json;
    bits = Math.imul(bits ^ (bits >>> 13), 0x5bd1e995) >>> 0;
  }
}

function parentOf(root: Json, path: Path): { parent: Json; key: string | number } | undefined {
  if (path.length === 0) return undefined;
  let cur: Json = root;
  for (const seg of path.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, Json>)[seg] as Json;
  }
  if (cur === null || typeof cur !== 'object') return undefined;
  return { parent: cur, key: path[path.length - 1]! };
}

interface Mutation {
  at: number;
  action: 'delete' | 'nasty' | 'plausible' | 'random' | 'duplicate';
  pick: number;
  random: Json;
}

/** A value of the same kind as `current`, so the schema often still holds after the swap. */
function plausibleLike(current: Json, pick: number): Json {
  if (typeof current === 'boolean') return !current;
  const shape = shapeOf(current);
  if (!shape) return current;
  return PLAUSIBLE[shape][pick % PLAUSIBLE[shape].length]!;
}

function mutate(root: Json, m: Mutation): Json {
  const path = randomPath(root, m.at);
  const where = parentOf(root, path);
  if (!where) return m.action === 'nasty' || m.action === 'random' ? m.random : root;
  const { parent, key } = where;
  const current = (parent as Record<string | number, Json>)[key] as Json;
  const replacement: Json =
    m.action === 'nasty'
      ? (structuredClone(NASTY[m.pick % NASTY.length]) as Json)
      : m.action === 'plausible'
        ? plausibleLike(current, m.pick)
        : m.random;
  if (Array.isArray(parent) && typeof key === 'number') {
    // Repeating a list item is how duplicate host names, MACs and addresses usually arise.
    if (m.action === 'duplicate') parent.push(structuredClone(parent[key]!));
    else if (m.action === 'delete') parent.splice(key, 1);
    else parent[key] = replacement;
  } else if (parent !== null && typeof parent === 'object' && !Array.isArray(parent)) {
    if (m.action === 'delete') delete parent[key];
    else if (m.action !== 'duplicate') parent[key] = replacement;
  }
  return root;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  action: fc.constantFrom(
    'plausible',
    'plausible',
    'plausible',
    'duplicate',
    'duplicate',
    'delete',
    'nasty',
    'random',
  ),
  pick: fc.nat(),
  random: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
});

/** Loads and validates text; returns the result, or undefined when it threw a proper error. */
function load(text: string): CheckedPlan | undefined {
  try {
    return checkParsed(parsePlanText(text, FILE));
  } catch (e) {
    if (!isUstartError(e)) throw e;
    if (!e.message.includes(FILE)) throw new Error(`error without the file name: ${e.message}`);
    return undefined;
  }
}

const RULE_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Throws (failing the property) unless every finding has the documented shape. */
function assertWellFormed(findings: readonly Finding[], root?: unknown): void {
  for (const f of findings) {
    const problem = !RULE_ID.test(f.rule)
      ? 'rule id'
      : !SEVERITIES.includes(f.severity)
        ? 'severity'
        : !(f.path === '' || f.path.startsWith('/'))
          ? 'path'
          : !f.message.trim() || !f.hint.trim()
            ? 'message or hint'
            : // A rule finding points at the field, or (for something missing) at its parent.
              root !== undefined &&
                !resolves(root, f.path) &&
                !resolves(root, parentPointer(f.path))
              ? 'path into the plan'
              : undefined;
    if (problem) throw new Error(`bad ${problem} in finding ${JSON.stringify(f)}`);
  }
}

const parentPointer = (ptr: string) => ptr.slice(0, Math.max(0, ptr.lastIndexOf('/')));

function resolves(root: unknown, ptr: string): boolean {
  let cur = root;
  for (const seg of segmentsOf(ptr)) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return false;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return true;
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

function mutatedDemo(list: readonly Mutation[], base: unknown = DEMO): Json {
  let plan = structuredClone(base) as Json;
  for (const m of list) plan = mutate(plan, m);
  return plan;
}

/** The demo cut to one server per role: YAML parsing dominates, so text fuzzing runs on it. */
const SMALL_DEMO = (() => {
  const plan = structuredClone(DEMO) as { servers: unknown[] };
  plan.servers = [0, 3, 7].map((i) => plan.servers[i]);
  return plan;
})();
const SMALL_TEXT = stringify(SMALL_DEMO);

describe('validation never crashes', () => {
  it('on thousands of mutated demo plans (fields deleted, replaced, repeated)', () => {
    let reachedRules = 0;
    fc.assert(
      fc.property(mutations, (list) => {
        const candidate = mutatedDemo(list);
        const parsed = Plan.safeParse(candidate);
        if (!parsed.success) return;
        reachedRules++;
        assertWellFormed(validatePlan(parsed.data), parsed.data);
      }),
      { numRuns: 2000, seed: 20261127, endOnFailure: true },
    );
    // Mutations must keep enough plans schema-valid to exercise the rules, not only zod.
    expect(reachedRules).toBeGreaterThan(500);
  });
});

describe('loading and validating a file never crash', () => {
  it('on mutated plans written as YAML', () => {
    fc.assert(
      fc.property(mutations, (list) => {
        const checked = load(stringify(mutatedDemo(list, SMALL_DEMO)));
        if (checked) assertWellFormed(checked.findings, checked.plan);
      }),
      { numRuns: 250, seed: 1127, endOnFailure: true },
    );
  });

  it('on plan text with lines dropped, repeated, indented and inserted', () => {
    const lines = SMALL_TEXT.split('\n');
    const edit = fc.record({
      line: fc.nat(),
      kind: fc.constantFrom('drop', 'repeat', 'insert', 'indent'),
      text: fc.string({ maxLength: 20 }),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 5 }), (edits) => {
        const copy = [...lines];
        for (const e of edits) {
          const i = e.line % copy.length;
          if (e.kind === 'drop') copy.splice(i, 1);
          else if (e.kind === 'repeat') copy.splice(i, 0, copy[i]!);
          else if (e.kind === 'insert') copy.splice(i, 0, e.text);
          else copy[i] = ' ' + copy[i];
        }
        // Windows editors save CRLF; both line endings must load alike.
        const eol = edits.length % 2 ? '\n' : '\r\n';
        const checked = load(copy.join(eol));
        if (checked) assertWellFormed(checked.findings, checked.plan);
      }),
      { numRuns: 250, seed: 7, endOnFailure: true },
    );
  });

  it('on arbitrary text, including control characters and YAML punctuation', () => {
    const yamlish = fc.stringMatching(/^[-:{}[\]#&*!|>'"%@`\s\w.,?]{0,200}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300, unit: 'binary' }), yamlish), (text) => {
        const checked = load(text);
        if (checked) assertWellFormed(checked.findings);
      }),
      { numRuns: 2000, seed: 99, endOnFailure: true },
    );
  });
});
