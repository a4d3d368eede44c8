/**
 * Writing a site plan. The plan is applied onto the YAML document it was loaded from, so
 * the user's comments, key order and quoting survive; only the values that changed are
 * touched. The write is atomic (a temp file in the same folder, fsynced, then renamed over
 * the target) and the previous file is kept as `<file>.bak`, so a crash or a full disk
 * never leaves a half-written plan.
 */
import { isDeepStrictEqual } from 'node:util';
import { Document, isAlias, isMap, isScalar, isSeq, type Node } from 'yaml';
import { UstartError } from '../errors.js';
import { copyAtomically, writeAtomically, type WriteOptions } from '../util/fs.js';
import { readRegularFile } from '../util/user-file.js';
import type { Plan } from './schema.js';

/** Renders a plan as YAML, reusing `base` (the loaded document) to keep comments. */
export function planToYaml(plan: Plan, base?: Document): string {
  if (!base) {
    const doc = new Document(plan, { aliasDuplicateObjects: false });
    doc.commentBefore = ' uStart site plan. Format: docs/plan-format.md';
    return doc.toString({ lineWidth: 0 });
  }
  const doc = base.clone();
  doc.contents = mergeNode(doc, doc.contents as Node | null, plan) as typeof doc.contents;
  return doc.toString({ lineWidth: 0 });
}

/**
 * Updates `node` in place to hold `value`: scalars keep their comments, mappings keep their
 * key order (new keys go to the end), lists are matched item by item.
 */
function mergeNode(doc: Document, node: Node | null, value: unknown): Node {
  if (value === undefined || value === null) return doc.createNode(value ?? null);
  // An alias (`*name`) stays as long as what it points at still holds the value.
  if (isAlias(node)) {
    return isDeepStrictEqual(node.resolve(doc)?.toJSON(), value) ? node : doc.createNode(value);
  }
  if (Array.isArray(value)) {
    if (!isSeq(node)) return doc.createNode(value);
    value.forEach((item, i) => {
      const existing = node.items[i] as Node | undefined;
      node.items[i] = mergeNode(doc, existing ?? null, item);
    });
    node.items.length = value.length;
    return node;
  }
  if (typeof value === 'object') {
    if (!isMap(node)) return doc.createNode(value);
    const entries = value as Record<string, unknown>;
    node.items = node.items.filter((pair) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      return entries[key] !== undefined;
    });
    for (const [key, v] of Object.entries(entries)) {
      if (v === undefined) continue;
      const pair = node.items.find(
        (p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === key,
      );
      if (pair) pair.value = mergeNode(doc, pair.value as Node | null, v);
      else node.add(doc.createPair(key, v));
    }
    return node;
  }
  if (isScalar(node)) {
    if (node.value !== value) node.value = value;
    return node;
  }
  return doc.createNode(value);
}

export interface SaveOptions {
  /** The document the plan was loaded from, to keep comments. */
  base?: Document;
  /**
   * The file's text when it was loaded. If the file changed on disk since then (another
   * editor, a colleague's sync), saving is refused instead of overwriting their work.
   */
  expectedText?: string;
}

export async function savePlanFile(
  file: string,
  plan: Plan,
  options: SaveOptions = {},
  write: WriteOptions = {},
): Promise<void> {
  const text = planToYaml(plan, options.base);
  let previous: string | undefined;
  try {
    previous = await readRegularFile(file, { what: 'plan', encoding: 'utf8' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (
    options.expectedText !== undefined &&
    previous !== undefined &&
    previous !== options.expectedText
  ) {
    throw new UstartError(
      'PlanChangedOnDisk',
      `${file} was changed by another program since it was opened. Nothing was written: reopen it, or save under another name.`,
      { detail: { file } },
    );
  }
  if (previous !== undefined) await copyAtomically(file, `${file}.bak`);
  await writeAtomically(file, text, 0o644, write);
}
