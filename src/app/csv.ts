/**
 * The wizard's CSV import: a preview with the detected column mapping, then the import with
 * the mapping the user settled on. The reading itself is src/plan/csv-import.ts.
 */
import { parse } from 'csv-parse/sync';
import type { CsvMapping } from '../api/index.js';
import {
  CSV_COLUMNS,
  decodeCsvBytes,
  describe,
  detectColumns,
  importCsv,
  type CsvDelimiter,
  type CsvField,
} from '../plan/csv-import.js';
import type { Plan } from '../plan/schema.js';
import { UstartError, messageOf } from '../errors.js';
import { readRegularFile, type UserFileOptions } from '../util/user-file.js';

const PREVIEW_ROWS = 20;

/** The separator that occurs most often in the header line; `;` on a tie (German Excel). */
function delimiterOf(text: string): CsvDelimiter {
  const header = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const count = (c: string) => header.split(c).length - 1;
  const candidates: CsvDelimiter[] = [';', ',', '\t'];
  return candidates.reduce((best, c) => (count(c) > count(best) ? c : best), ';');
}

export async function readCsvSource(
  source: { file?: string; text?: string },
  confinement: Pick<UserFileOptions, 'noFollow' | 'within'> = {},
): Promise<string> {
  if (source.text !== undefined) return source.text;
  const file = source.file!;
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, { ...confinement, what: 'CSV file', code: 'CsvInvalid' });
  } catch (e) {
    if (e instanceof UstartError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UstartError(
      'CsvInvalid',
      `${file} cannot be read (${code === 'ENOENT' ? 'it does not exist' : code === 'ELOOP' ? 'it is a symbolic link, which is not followed here' : (code ?? messageOf(e))}); choose the CSV file itself.`,
      { cause: e, detail: { file } },
    );
  }
  return decodeCsvBytes(bytes, file).text;
}

export function previewCsv(text: string) {
  const rows = parse(text, {
    delimiter: delimiterOf(text),
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
  }) as string[][];
  const [headers = [], ...body] = rows;
  const detected = detectColumns(headers);
  const mapping: CsvMapping = {};
  for (const c of CSV_COLUMNS) {
    const index = detected[c.field];
    mapping[c.field] = index === undefined ? null : (headers[index] ?? null);
  }
  return {
    text,
    columns: headers,
    rows: body.slice(0, PREVIEW_ROWS),
    rowCount: body.length,
    mapping,
    fields: CSV_COLUMNS.map((c) => ({
      field: c.field,
      required: c.required,
      description: c.description,
    })),
  };
}

export function importWithMapping(text: string, mapping: CsvMapping, plan: Plan) {
  const known = new Set<string>(CSV_COLUMNS.map((c) => c.field));
  const chosen: Partial<Record<CsvField, string | null>> = {};
  for (const [field, header] of Object.entries(mapping)) {
    if (known.has(field)) chosen[field as CsvField] = header;
  }
  const management = plan.networks.find((n) => n.purpose === 'management')?.name;
  const result = importCsv(text, {
    mapping: chosen,
    delimiter: delimiterOf(text),
    ...(management ? { managementNetwork: management } : {}),
  });
  return { servers: result.servers, racks: result.racks, warnings: result.warnings.map(describe) };
}
