/**
 * `pinBom` (`ustart bom pin`): reads what upstream serves for every entry of a bill of
 * materials and writes it as the entry's pin — an image's `digest` (of its index or
 * manifest, as its tag resolves), a chart's `digest` (its archive's sha256), a file's
 * `sha256` — into the file itself, its comments, order and layout kept. It runs where the
 * network is; `bundle create` then enforces the pins (docs/bundle-format.md, "Bill of
 * materials").
 *
 * A pin that differs from the one the file holds is reported as changed: the upstream tag
 * or archive moved, which the user must look into before trusting it. Nothing is written
 * unless every entry asked for was resolved, and the file is replaced atomically, so an
 * error leaves it as it was.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, parse, parseDocument, type Document, type YAMLMap } from 'yaml';
import { fetchArtifacts, type FetchArtifactsOptions, type FetchedArtifact } from './fetch/index.js';
import { resolveImageDigests, type ResolveDigestsOptions } from './oci/index.js';
import { UstartError } from '../errors.js';
import { writeAtomically } from '../util/fs.js';
import { bomFetchSpecs } from './bom-artifacts.js';
import { Bom, readBom } from '../render/bom.js';
import { readRegularFile } from '../util/user-file.js';

export const PIN_SECTIONS = ['images', 'charts', 'files'] as const;
export type PinSection = (typeof PIN_SECTIONS)[number];

export interface PinBomOptions
  extends
    Pick<ResolveDigestsOptions, 'mirrors' | 'credentials'>,
    Pick<FetchArtifactsOptions, 'urlMirrors' | 'ca' | 'onEvent'> {
  /** The bill of materials to pin (edited in place). */
  file: string;
  /** Pin only this section; default all three. */
  only?: PinSection;
  /** Resolve and report, write nothing. */
  dryRun?: boolean;
  /** The download cache charts and files go through (default the image puller's). */
  cacheDir?: string;
  concurrency?: number;
  retries?: number;
  signal?: AbortSignal;
}

export interface PinOutcome {
  section: PinSection;
  name: string;
  /** What was resolved: the image reference, or the chart's or file's version and source. */
  subject: string;
  field: 'digest' | 'sha256';
  /** The pin the file held; absent: it was not pinned. */
  before?: string;
  after: string;
  status: 'new' | 'unchanged' | 'changed';
}

export interface PinBomResult {
  file: string;
  outcomes: PinOutcome[];
  /** Entries that cannot be pinned, and why (a release folder, a page, a site-built file). */
  skipped: Array<{ section: PinSection; name: string; reason: string }>;
  /** Whether the file was rewritten (false: nothing changed, or a dry run). */
  written: boolean;
}

/** The key each pin is written after, in the entry's own order. */
const ANCHOR: Record<PinSection, string> = { images: 'ref', charts: 'version', files: 'url' };
const FIELD: Record<PinSection, PinOutcome['field']> = {
  images: 'digest',
  charts: 'digest',
  files: 'sha256',
};
/** Emit options under which the shipped bom.yaml is reproduced byte for byte. */
const EMIT = { flowCollectionPadding: false, lineWidth: 0 } as const;

export async function pinBom(options: PinBomOptions): Promise<PinBomResult> {
  const file = await realpath(options.file).catch((e: unknown) => {
    throw new UstartError(
      'InvalidArgument',
      `${options.file}: cannot read the bill of materials (${(e as Error).message}).`,
      { cause: e },
    );
  });
  const text = await readRegularFile(file, { what: 'bill of materials', encoding: 'utf8' });
  const bom = readBom(file);
  const wanted = (s: PinSection) => options.only === undefined || options.only === s;
  const outcomes: PinOutcome[] = [];
  const skipped: PinBomResult['skipped'] = [];
  const unchangedFile = `the bill of materials ${file} was not changed`;

  if (wanted('images')) {
    const entries = Object.entries(bom.images);
    const resolved = await resolveImageDigests({
      images: entries.map(([, i]) => i.ref),
      ...pick(options, ['mirrors', 'credentials', 'cacheDir', 'concurrency', 'retries', 'signal']),
    });
    const failed = resolved.flatMap((r, i) =>
      'error' in r ? [`  images.${entries[i]![0]} (${r.image}): ${r.error.message}`] : [],
    );
    if (failed.length > 0) {
      throw new UstartError(
        'BundleBuildFailed',
        `could not resolve ${failed.length} image${failed.length === 1 ? '' : 's'}, so ${unchangedFile}:\n${failed.join('\n')}`,
        { detail: { file, images: failed.length } },
      );
    }
    resolved.forEach((r, i) => {
      const [name, entry] = entries[i]!;
      if ('error' in r) return;
      outcomes.push(outcome('images', name, entry.ref, entry.digest, r.digest));
    });
  }

  const specs = bomFetchSpecs(withoutFilePins(bom));
  const fetchOptions = pick(options, [
    'mirrors',
    'credentials',
    'urlMirrors',
    'ca',
    'cacheDir',
    'concurrency',
    'retries',
    'signal',
    'onEvent',
  ]);
  if (wanted('charts') && specs.charts.length > 0) {
    // Fetched without the file's pins, so a moved archive is reported, not refused.
    const charts = specs.charts.map(({ digest: _, ...c }) => c);
    const fetched = await fetchOrExplain(
      () => fetchArtifacts({ ...fetchOptions, charts }),
      'charts',
      unchangedFile,
    );
    for (const f of fetched) {
      const entry = bom.charts[f.name]!;
      outcomes.push(
        outcome(
          'charts',
          f.name,
          `${entry.version} from ${entry.repository}`,
          entry.digest,
          `sha256:${f.sha256}`,
        ),
      );
    }
  }

  if (wanted('files')) {
    const pinnable = specs.files.filter((f) => bom.files[f.name] !== undefined);
    for (const s of specs.skipped) skipped.push({ section: 'files', ...s });
    for (const name of Object.keys(bom.files)) {
      if (pinnable.some((f) => f.name === name) || specs.skipped.some((s) => s.name === name))
        continue;
      skipped.push({
        section: 'files',
        name,
        reason:
          'a release folder of several assets (clusterctl reads them one by one); one sha256 cannot pin it',
      });
    }
    if (pinnable.length > 0) {
      const fetched = await fetchOrExplain(
        () => fetchArtifacts({ ...fetchOptions, files: pinnable }),
        'files',
        unchangedFile,
      );
      for (const f of fetched) {
        const entry = bom.files[f.name]!;
        outcomes.push(outcome('files', f.name, entry.url, entry.sha256, f.sha256));
      }
    }
  }

  const changes = outcomes.filter((o) => o.status !== 'unchanged');
  if (changes.length === 0 || options.dryRun) {
    return { file, outcomes, skipped, written: false };
  }
  const next = applyPins(file, text, changes);
  // Refuse to overwrite an edit made while upstream was being asked.
  if ((await readFile(file, 'utf8')) !== text) {
    throw new UstartError(
      'WriteFailed',
      `${file} changed while its pins were being resolved; nothing was written. Run "ustart bom pin" again.`,
      { detail: { file } },
    );
  }
  await writeAtomically(file, next, (await stat(file)).mode & 0o777);
  return { file, outcomes, skipped, written: true };
}

function outcome(
  section: PinSection,
  name: string,
  subject: string,
  before: string | undefined,
  after: string,
): PinOutcome {
  return {
    section,
    name,
    subject,
    field: FIELD[section],
    ...(before !== undefined ? { before } : {}),
    after,
    status: before === undefined ? 'new' : before === after ? 'unchanged' : 'changed',
  };
}

function withoutFilePins(bom: Bom): Bom {
  return {
    ...bom,
    files: Object.fromEntries(
      Object.entries(bom.files).map(([name, { sha256: _, ...f }]) => [name, f]),
    ),
  };
}

async function fetchOrExplain(
  run: () => Promise<FetchedArtifact[]>,
  section: PinSection,
  unchanged: string,
): Promise<FetchedArtifact[]> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof UstartError) || e.code === 'Cancelled') throw e;
    throw new UstartError(e.code, `could not pin the ${section}, so ${unchanged}: ${e.message}`, {
      cause: e,
      detail: e.detail,
    });
  }
}

/**
 * The text of a bill of materials with `changes` written into it, everything else as it was;
 * checked to read back as the same bill of materials with only those pins changed.
 */
export function applyPins(
  file: string,
  text: string,
  changes: ReadonlyArray<Pick<PinOutcome, 'section' | 'name' | 'field' | 'after'>>,
): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new UstartError('RunbookInvalid', `${file}: ${doc.errors[0]!.message}`);
  }
  for (const o of changes) setPin(doc, o, file);
  const next = doc.toString(EMIT);
  checkEdit(file, text, next, changes);
  return next;
}

/** Writes one pin into its entry: in place when it has one, else after its anchor key. */
function setPin(
  doc: Document,
  o: Pick<PinOutcome, 'section' | 'name' | 'field' | 'after'>,
  file: string,
): void {
  const entry = doc.getIn([o.section, o.name], true);
  if (!isMap(entry)) {
    throw new UstartError(
      'RunbookInvalid',
      `${file}: ${o.section}.${o.name} is not a mapping; pin it by hand.`,
    );
  }
  const map = entry as YAMLMap<unknown, unknown>;
  const keyOf = (i: number) => {
    const k = map.items[i]!.key;
    return isScalar(k) ? k.value : k;
  };
  const at = map.items.findIndex((_, i) => keyOf(i) === o.field);
  if (at >= 0) {
    const pair = map.items[at]!;
    // The scalar itself is changed, so a comment after it stays where it was.
    if (isScalar(pair.value)) pair.value.value = o.after;
    else pair.value = doc.createNode(o.after);
    return;
  }
  const anchor = map.items.findIndex((_, i) => keyOf(i) === ANCHOR[o.section]);
  map.items.splice(
    anchor >= 0 ? anchor + 1 : map.items.length,
    0,
    doc.createPair(o.field, o.after),
  );
}

/**
 * The edited text must read back as the same bill of materials with only the pins changed,
 * and still pass the schema; anything else is a bug here, and the file is not touched.
 */
function checkEdit(
  file: string,
  before: string,
  after: string,
  changes: ReadonlyArray<Pick<PinOutcome, 'section' | 'name' | 'field' | 'after'>>,
): void {
  const expected = parse(before) as Record<PinSection, Record<string, Record<string, unknown>>>;
  for (const o of changes) expected[o.section][o.name]![o.field] = o.after;
  const got: unknown = parse(after);
  if (!isDeepStrictEqual(got, expected) || !Bom.safeParse(got).success) {
    throw new UstartError(
      'WriteFailed',
      `${file}: writing the pins would change more than the pins; nothing was written. Report this, and pin by hand meanwhile.`,
      { detail: { file } },
    );
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
