/**
 * Import of the customer's server list (CSV, one row per server) into plan fragments: racks
 * and servers. Lists arrive as a purchasing department exports them from Excel: German or
 * English headers, `;` or `,` separated, a byte-order mark, CRLF, decimal commas, MACs in
 * whatever spelling the vendor tool printed, disks as free text. Every cell that cannot be
 * read is reported with its line and column at once, and nothing is returned when any row
 * is unusable, so a half-imported site never exists. The columns are documented in
 * docs/csv-import.md.
 */
import { parse } from 'csv-parse/sync';
import { UstartError } from '../errors.js';
import { parseIpv4 } from './ipv4.js';
import { type Disk, type Rack, type Role, Server } from './schema.js';

/** The columns the import understands. */
export type CsvField =
  | 'hostname'
  | 'rack'
  | 'position'
  | 'units'
  | 'vendor'
  | 'model'
  | 'sockets'
  | 'cores'
  | 'threads'
  | 'cpuModel'
  | 'memory'
  | 'disks'
  | 'mac'
  | 'nicSpeed'
  | 'mgmtIp'
  | 'bmcIp'
  | 'roles'
  | 'powerW'
  | 'notes';

export interface CsvColumn {
  field: CsvField;
  /** The header names recognised, compared without case, spaces or punctuation. */
  names: readonly string[];
  required: boolean;
  /** What the cell holds, for the documentation and the UI's mapping step. */
  description: string;
}

/** Every column, in the order the UI offers them. The first name is the one documented. */
export const CSV_COLUMNS: readonly CsvColumn[] = [
  {
    field: 'hostname',
    required: true,
    names: ['Hostname', 'Host', 'Name', 'Servername', 'Server', 'Host name'],
    description: 'Short host name (an FQDN is cut at the first dot).',
  },
  {
    field: 'rack',
    required: true,
    names: ['Rack', 'Schrank', 'Rackname', 'Serverschrank', 'Rack-ID'],
    description: 'Rack name as labelled in the datacenter.',
  },
  {
    field: 'position',
    required: true,
    names: [
      'HE',
      'U',
      'Position',
      'Pos',
      'Rack Unit',
      'Position (HE)',
      'Position (U)',
      'Unterste HE',
      'Start-HE',
    ],
    description:
      'Lowest rack unit the server occupies ("40", "U40", "HE 40"; a range "27-28" also gives the height).',
  },
  {
    field: 'units',
    required: false,
    names: [
      'Höhe (HE)',
      'Höhe',
      'Units',
      'Height',
      'Height (U)',
      'Anzahl HE',
      'Größe (HE)',
      'Size (U)',
      'RU',
    ],
    description: 'Height in rack units ("2", "2 HE", "2U"). 1 when the column is absent.',
  },
  {
    field: 'vendor',
    required: false,
    names: ['Hersteller', 'Vendor', 'Manufacturer', 'Marke', 'Brand'],
    description: 'Manufacturer.',
  },
  {
    field: 'model',
    required: true,
    names: ['Modell', 'Model', 'Servermodell', 'Server model', 'Typ', 'Type', 'Produkt', 'Product'],
    description: 'Server model as sold.',
  },
  {
    field: 'sockets',
    required: true,
    names: ['CPU-Sockel', 'Sockel', 'Sockets', 'CPU sockets', 'CPUs', 'Anzahl CPU', 'Prozessoren'],
    description: 'Populated CPU sockets, a whole number.',
  },
  {
    field: 'cores',
    required: true,
    names: [
      'Kerne/Sockel',
      'Kerne pro Sockel',
      'Cores/Socket',
      'Cores per socket',
      'Cores',
      'Kerne',
      'Cores per CPU',
      'Kerne pro CPU',
    ],
    description: 'Physical cores per socket, a whole number.',
  },
  {
    field: 'threads',
    required: false,
    names: ['Threads', 'Threads/Kern', 'Threads per core', 'Threads pro Kern', 'SMT', 'HT'],
    description:
      'Hardware threads per core (2 with SMT/Hyper-Threading). 2 when the column is absent.',
  },
  {
    field: 'cpuModel',
    required: false,
    names: ['CPU', 'CPU-Modell', 'CPU model', 'Prozessor', 'Processor', 'Prozessortyp'],
    description: 'Processor model, for the report.',
  },
  {
    field: 'memory',
    required: true,
    names: [
      'RAM (GB)',
      'RAM',
      'Memory',
      'Memory (GB)',
      'Arbeitsspeicher',
      'Arbeitsspeicher (GB)',
      'RAM (GiB)',
      'Memory (GiB)',
      'Hauptspeicher',
    ],
    description:
      'Installed memory; a plain number is GiB ("GB" on a RAM sheet means GiB), "1 TB" or "1,5 TB" is read as TiB.',
  },
  {
    field: 'disks',
    required: false,
    names: [
      'Datenträger',
      'Disks',
      'Festplatten',
      'Laufwerke',
      'Drives',
      'Storage',
      'Platten',
      'Disk',
    ],
    description:
      'Disks as free text, groups separated by ";" or "+": "2x 480 GB SSD (OS RAID1); 1x 1,92 TB NVMe".',
  },
  {
    field: 'mac',
    required: false,
    names: [
      'MAC (Mgmt)',
      'MAC',
      'Mgmt-MAC',
      'MAC-Adresse',
      'MAC address',
      'MAC (Management)',
      'Management-MAC',
    ],
    description:
      'MAC of the management NIC: B0:7B:25:1A:00:01, b0-7b-25-1a-00-01 or b07b.251a.0001.',
  },
  {
    field: 'nicSpeed',
    required: false,
    names: [
      'Mgmt-Speed',
      'NIC speed',
      'Speed',
      'Geschwindigkeit',
      'Link speed',
      'Speed (Gbit/s)',
      'Mgmt-Speed (Gbit/s)',
    ],
    description:
      'Link speed of the management NIC in Gbit/s ("10", "25G", "1 GbE"). 10 when absent.',
  },
  {
    field: 'mgmtIp',
    required: false,
    names: [
      'Mgmt-IP',
      'Management-IP',
      'IP',
      'IP-Adresse',
      'IP address',
      'IP (Mgmt)',
      'Mgmt IP-Adresse',
    ],
    description: 'Address on the management network; empty cells are filled from its pool (IPAM).',
  },
  {
    field: 'bmcIp',
    required: false,
    names: [
      'iDRAC/iLO IP',
      'BMC',
      'BMC-IP',
      'iDRAC',
      'iLO',
      'IPMI',
      'IPMI-IP',
      'OOB',
      'OOB-IP',
      'iDRAC-IP',
      'iLO-IP',
      'XCC',
      'XCC-IP',
      'BMC-Adresse',
    ],
    description: 'Address of the BMC (iDRAC, iLO, XCC); the BMC is assumed to speak Redfish.',
  },
  {
    field: 'roles',
    required: false,
    names: ['Rolle', 'Rollen', 'Role', 'Roles', 'Funktion', 'Node-Typ', 'Node type'],
    description:
      'Controller, Compute, Storage (German: Steuerung, Rechenknoten, Speicher), several separated by "/", "," or "+"; HCI means Compute + Storage. Empty: planned, no role yet.',
  },
  {
    field: 'powerW',
    required: false,
    names: [
      'Leistung (W)',
      'Power (W)',
      'Watt',
      'Leistung',
      'Power',
      'Verbrauch (W)',
      'Leistungsaufnahme',
    ],
    description: 'Typical power draw in watts, for the rack power budget.',
  },
  {
    field: 'notes',
    required: false,
    names: [
      'Bemerkung',
      'Bemerkungen',
      'Notes',
      'Note',
      'Kommentar',
      'Comment',
      'Comments',
      'Hinweis',
      'Anmerkung',
      'Remarks',
    ],
    description: "Free text, kept as the server's notes.",
  },
];

/** Column index per field, as detected from the header row or chosen in the UI. */
export type ColumnMapping = Partial<Record<CsvField, number>>;

/** Header names compared without case, umlauts, spaces or punctuation: "RAM (GB)" = "ram gb". */
function key(header: string): string {
  return header
    .normalize('NFKC')
    .toLowerCase()
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/ß/g, 'ss')
    .replace(/[^\p{L}\p{N}]/gu, '');
}

const FIELD_BY_KEY = new Map<string, CsvField>();
for (const c of CSV_COLUMNS) for (const n of c.names) FIELD_BY_KEY.set(key(n), c.field);

/** Maps header names to fields. The first column of a field wins; unknown headers are left out. */
export function detectColumns(headers: readonly string[]): ColumnMapping {
  const mapping: ColumnMapping = {};
  headers.forEach((h, i) => {
    const field = FIELD_BY_KEY.get(key(h));
    if (field && mapping[field] === undefined) mapping[field] = i;
  });
  return mapping;
}

export type CsvDelimiter = ';' | ',' | '\t';

export interface CsvImportOptions {
  /** Name used in messages. */
  file?: string;
  /** Overrides the detected mapping: a column index or header name per field, null to ignore the field. */
  mapping?: Partial<Record<CsvField, number | string | null>>;
  /** The separator; detected from the header line when absent. */
  delimiter?: CsvDelimiter;
  /** Network the management NIC and address belong to. Default `mgmt`. */
  managementNetwork?: string;
  /** Height of racks created from the list. Default 42. */
  rackUnits?: number;
  /** Power budget of racks created from the list, kW. Default 8. */
  rackPowerKw?: number;
}

/** A cell (or row, or the file) the import could not use, or a note about it. */
export interface CsvProblem {
  /** 1-based line in the file (the header is line 1 unless blank lines precede it). */
  line?: number;
  /** The header of the column, as written in the file. */
  column?: string;
  field?: CsvField;
  message: string;
}

export interface CsvImport {
  /** Racks named in the list, in order of first appearance, with the default height and power. */
  racks: Rack[];
  servers: Server[];
  /** What was assumed or ignored; the import still succeeded. */
  warnings: CsvProblem[];
  headers: string[];
  mapping: ColumnMapping;
  delimiter: CsvDelimiter;
}

const DEFAULT_THREADS = 2;
const DEFAULT_NIC_SPEED_GBPS = 10;

/** Reads a CSV file's bytes: UTF-8 (with or without BOM), else Windows-1252 as older Excel writes it. */
export function decodeCsvBytes(
  bytes: Uint8Array,
  file = 'the CSV file',
): { text: string; encoding: 'utf-8' | 'windows-1252' } {
  if (bytes.includes(0)) {
    throw fileError(
      file,
      `${file} is a binary file, not a CSV list. In Excel use "Save as" → "CSV UTF-8 (comma delimited)".`,
    );
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), encoding: 'windows-1252' };
  }
}

/**
 * Turns a server list into racks and servers, or throws UstartError('CsvInvalid') listing
 * every unusable cell (`detail.kind` is `rows`) or what makes the file unreadable
 * (`detail.kind` is `file`: empty, no separator, required columns missing).
 */
export function importCsv(input: string, options: CsvImportOptions = {}): CsvImport {
  const file = options.file ?? 'the CSV file';
  const text = input.replace(/^\ufeff/, '').replace(/\r\n?/g, '\n');
  if (text.trim() === '') {
    throw fileError(
      file,
      `${file} is empty. Export the server list with a header row (Hostname;Rack;HE;…) and one row per server.`,
    );
  }
  const delimiter = options.delimiter ?? detectDelimiter(text);
  if (!delimiter) {
    throw fileError(
      file,
      `${file}: cannot find the column separator in the header line; columns must be separated by ";" or "," (or a tab), such as "Hostname;Rack;HE;Modell". Export the sheet again as CSV.`,
    );
  }
  const rows = parseRows(text, delimiter, file);
  const [headerRow, ...dataRows] = rows;
  if (!headerRow) throw fileError(file, `${file} is empty.`);
  const headers = headerRow.cells.map((h) => h.trim());
  const mapping = resolveMapping(headers, options.mapping, file);
  checkRequired(file, headers, mapping, headerRow.line);
  if (dataRows.length === 0) {
    throw fileError(file, `${file} has a header row but no servers below it.`);
  }

  const warnings: CsvProblem[] = [];
  noteDefaults(mapping, headers, warnings);
  const german = delimiter === ';';
  const ctx: RowContext = {
    headers,
    mapping,
    german,
    management: options.managementNetwork ?? 'mgmt',
    problems: [],
    warnings,
  };
  const servers: Server[] = [];
  const hostLines = new Map<string, number>();
  const macLines = new Map<string, number>();
  for (const row of dataRows) {
    if (row.cells.every((c) => c.trim() === '')) continue;
    const server = readRow(row, ctx);
    if (!server) continue;
    const seen = hostLines.get(server.hostname);
    if (seen !== undefined) {
      ctx.problems.push(
        at(row.line, 'hostname', ctx, `'${server.hostname}' already appears on line ${seen}`),
      );
      continue;
    }
    hostLines.set(server.hostname, row.line);
    const mac = server.nics[0]?.mac;
    if (mac) {
      const other = macLines.get(mac);
      if (other !== undefined) {
        ctx.problems.push(at(row.line, 'mac', ctx, `${mac} is already the MAC on line ${other}`));
        continue;
      }
      macLines.set(mac, row.line);
    }
    servers.push(server);
  }
  if (ctx.problems.length > 0) {
    const lines = new Set(ctx.problems.map((p) => p.line)).size;
    throw new UstartError(
      'CsvInvalid',
      `${file}: ${lines} row${lines === 1 ? '' : 's'} cannot be imported; nothing was imported.\n` +
        ctx.problems.map((p) => `  ${describe(p)}`).join('\n') +
        '\nFix these cells in the spreadsheet (or map the columns differently) and import again.',
      { detail: { file, kind: 'rows', problems: ctx.problems } },
    );
  }
  if (servers.length === 0) {
    throw fileError(file, `${file} has a header row but no servers below it.`);
  }
  const rackNames = [...new Set(servers.map((s) => s.rack))];
  const racks = rackNames.map((name) => ({
    name,
    units: options.rackUnits ?? 42,
    powerKw: options.rackPowerKw ?? 8,
  }));
  return { racks, servers, warnings, headers, mapping, delimiter };
}

/** "line 7, column 'RAM (GB)': '25b' is not a number". */
export function describe(p: CsvProblem): string {
  const where = [
    p.line === undefined ? undefined : `line ${p.line}`,
    p.column === undefined ? undefined : `column '${p.column}'`,
  ].filter(Boolean);
  return where.length ? `${where.join(', ')}: ${p.message}` : p.message;
}

function fileError(file: string, message: string, problems: CsvProblem[] = []): UstartError {
  return new UstartError('CsvInvalid', message, { detail: { file, kind: 'file', problems } });
}

/** The separator that occurs most often outside quotes in the first non-empty line; `;` on a tie. */
function detectDelimiter(text: string): CsvDelimiter | undefined {
  const first = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const counts: Record<CsvDelimiter, number> = { ';': 0, '\t': 0, ',': 0 };
  let quoted = false;
  for (const ch of first) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ';' || ch === ',' || ch === '\t')) counts[ch]++;
  }
  const best = (Object.keys(counts) as CsvDelimiter[]).reduce((a, b) =>
    counts[b] > counts[a] ? b : a,
  );
  return counts[best] > 0 ? best : undefined;
}

interface Row {
  line: number;
  cells: string[];
}

function parseRows(text: string, delimiter: CsvDelimiter, file: string): Row[] {
  let records: Array<{ record: string[]; info: { lines: number }; raw: string }>;
  try {
    records = parse(text, {
      delimiter,
      relax_column_count: true,
      // Inch marks in free text ("2x 3,5" HDD") are quotes in the middle of a cell.
      relax_quotes: true,
      skip_empty_lines: true,
      info: true,
      raw: true,
    }) as unknown as typeof records;
  } catch (e) {
    const line = (e as { lines?: number }).lines;
    throw fileError(
      file,
      `${file}${line ? `:${line}` : ''}: a quoted cell is never closed (a '"' without its partner); fix the quotes in the spreadsheet and export again.`,
    );
  }
  return records.map(({ record, info, raw }) => {
    // info.lines is where the record ends; a quoted cell may span lines, and skipped blank
    // lines before it are part of `raw`.
    const body = raw.replace(/^\n+/, '').replace(/\n$/, '');
    return { line: info.lines - (body.match(/\n/g)?.length ?? 0), cells: record };
  });
}

function resolveMapping(
  headers: string[],
  override: CsvImportOptions['mapping'],
  file: string,
): ColumnMapping {
  const mapping = detectColumns(headers);
  for (const [field, target] of Object.entries(override ?? {}) as Array<
    [CsvField, number | string | null | undefined]
  >) {
    if (target === undefined) continue;
    if (target === null) {
      delete mapping[field];
      continue;
    }
    const index =
      typeof target === 'number' ? target : headers.findIndex((h) => key(h) === key(target));
    if (index < 0 || index >= headers.length) {
      throw fileError(
        file,
        `${file}: the mapping puts ${field} in column ${JSON.stringify(target)}, which the file does not have; its columns are: ${headers.join(', ')}.`,
      );
    }
    mapping[field] = index;
  }
  return mapping;
}

function checkRequired(file: string, headers: string[], mapping: ColumnMapping, line: number) {
  const missing = CSV_COLUMNS.filter((c) => c.required && mapping[c.field] === undefined);
  if (missing.length === 0) return;
  const problems = missing.map((c) => ({
    line,
    field: c.field,
    message: `no column for ${c.names[0]}; accepted header names: ${c.names.join(', ')}`,
  }));
  throw fileError(
    file,
    `${file}: the header row (line ${line}) lacks ${missing.length === 1 ? 'a required column' : `${missing.length} required columns`}:\n` +
      problems.map((p) => `  ${p.message}`).join('\n') +
      `\nThe file's columns are: ${headers.map((h) => `'${h}'`).join(', ')}. Rename a header, or map the columns by hand.`,
    problems,
  );
}

function noteDefaults(mapping: ColumnMapping, headers: string[], warnings: CsvProblem[]) {
  if (mapping.units === undefined)
    warnings.push({ field: 'units', message: 'no height column: every server is taken as 1 U' });
  if (mapping.threads === undefined)
    warnings.push({
      field: 'threads',
      message: `no threads column: every CPU is taken to run ${DEFAULT_THREADS} threads per core (SMT on)`,
    });
  if (mapping.mac !== undefined && mapping.nicSpeed === undefined)
    warnings.push({
      field: 'nicSpeed',
      message: `no NIC speed column: management NICs are taken as ${DEFAULT_NIC_SPEED_GBPS} Gbit/s and named eno1`,
    });
  if (mapping.roles === undefined)
    warnings.push({
      field: 'roles',
      message: 'no role column: servers are imported without roles',
    });
  const used = new Set(Object.values(mapping));
  headers.forEach((h, i) => {
    if (!used.has(i) && h !== '')
      warnings.push({ column: h, message: 'column not recognised; ignored' });
  });
}

interface RowContext {
  headers: string[];
  mapping: ColumnMapping;
  german: boolean;
  management: string;
  problems: CsvProblem[];
  warnings: CsvProblem[];
}

function at(line: number, field: CsvField, ctx: RowContext, message: string): CsvProblem {
  const index = ctx.mapping[field];
  const column = index === undefined ? undefined : ctx.headers[index];
  return column === undefined ? { line, field, message } : { line, column, field, message };
}

type Parsed<T> = { value: T } | { error: string };

function readRow(row: Row, ctx: RowContext): Server | undefined {
  const before = ctx.problems.length;
  const raw = (field: CsvField): string => {
    const i = ctx.mapping[field];
    return i === undefined ? '' : (row.cells[i] ?? '').trim();
  };
  /** Parses a cell; records a problem and returns undefined when it cannot be read. */
  function cell<T>(
    field: CsvField,
    read: (text: string) => Parsed<T>,
    required: boolean,
  ): T | undefined {
    const text = raw(field);
    if (text === '') {
      if (required)
        ctx.problems.push(at(row.line, field, ctx, 'is empty; this column is required'));
      return undefined;
    }
    const r = read(text);
    if ('error' in r) {
      ctx.problems.push(at(row.line, field, ctx, r.error));
      return undefined;
    }
    return r.value;
  }
  const warn = (field: CsvField, message: string) =>
    ctx.warnings.push(at(row.line, field, ctx, message));

  const hostname = cell('hostname', readHostname, true);
  if (hostname && raw('hostname').includes('.'))
    warn('hostname', `FQDN shortened to '${hostname}'`);
  const rack = cell('rack', (t) => ({ value: t }), true);
  const place = cell('position', readPosition, true);
  const units = cell('units', (t) => readWhole(t, 1, 20, /^(?:he|u|ru)$/i), false);
  const vendor = raw('vendor');
  const model = cell('model', (t) => ({ value: t }), true);
  const sockets = cell('sockets', (t) => readWhole(t, 1, 16), true);
  const cores = cell('cores', (t) => readWhole(t, 1, 512), true);
  const threads = cell('threads', readThreads, false) ?? DEFAULT_THREADS;
  const cpuModel = raw('cpuModel');
  const memoryGiB = cell('memory', (t) => readMemory(t, ctx.german), true);
  const roles = cell('roles', readRoles, false) ?? [];
  const disks =
    cell('disks', (t) => readDisks(t, roles.includes('storage'), ctx.german), false) ?? [];
  const mac = cell('mac', readMac, false);
  const speed = cell('nicSpeed', (t) => readSpeed(t, ctx.german), false);
  const mgmtIp = cell('mgmtIp', readIp, false);
  const bmcIp = cell('bmcIp', readIp, false);
  const powerW = cell(
    'powerW',
    (t) => readQuantity(t, ctx.german, { '': 1, W: 1, Watt: 1, kW: 1000 }),
    false,
  );
  const notes = raw('notes');
  if (ctx.problems.length > before) return undefined;

  if (ctx.mapping.disks !== undefined && !disks.some((d) => d.use === 'os')) {
    warn('disks', 'no disk is marked as the OS disk ("OS", "Boot", "RAID1"); mark one in the plan');
  }
  if (ctx.mapping.mac !== undefined && !mac)
    warn('mac', 'no MAC: the server has no NIC in the plan yet');
  if (ctx.mapping.roles !== undefined && roles.length === 0)
    warn('roles', 'no role: the server is planned but not used');

  const server: Server = {
    hostname: hostname!,
    rack: rack!,
    position: place!.position,
    units: units ?? place!.units ?? 1,
    model: model!,
    ...(vendor ? { vendor } : {}),
    cpu: { sockets: sockets!, cores: cores!, threads, ...(cpuModel ? { model: cpuModel } : {}) },
    memoryGiB: memoryGiB!,
    disks,
    nics: mac
      ? [{ name: 'eno1', mac, speedGbps: speed ?? DEFAULT_NIC_SPEED_GBPS, network: ctx.management }]
      : [],
    ...(bmcIp ? { bmc: { address: bmcIp, protocol: 'redfish' as const } } : {}),
    addresses: mgmtIp ? { [ctx.management]: mgmtIp } : {},
    roles,
    ...(powerW ? { powerW } : {}),
    ...(notes ? { notes } : {}),
  };
  const checked = Server.safeParse(server);
  if (!checked.success) {
    for (const issue of checked.error.issues) {
      ctx.problems.push({ line: row.line, message: `${issue.path.join('.')}: ${issue.message}` });
    }
    return undefined;
  }
  return checked.data;
}

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function readHostname(text: string): Parsed<string> {
  const name = text.split('.')[0]!;
  if (!HOST_LABEL.test(name)) {
    return {
      error: `'${text}' is not a host name: use 1–63 letters, digits and hyphens, such as cmp-01`,
    };
  }
  return { value: name.toLowerCase() };
}

function readPosition(text: string): Parsed<{ position: number; units?: number }> {
  const m = /^(?:u|he|ru)?\s*(\d+)(?:\s*[-–]\s*(?:u|he)?\s*(\d+))?$/i.exec(text);
  if (!m)
    return { error: `'${text}' is not a rack unit; write the lowest unit, such as 40 or U40` };
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 1 || b < 1) return { error: `'${text}': rack units count from 1 at the bottom` };
  const position = Math.min(a, b);
  return m[2] === undefined
    ? { value: { position } }
    : { value: { position, units: Math.abs(b - a) + 1 } };
}

function readWhole(text: string, min: number, max: number, unit?: RegExp): Parsed<number> {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text);
  if (!m || (m[2] !== '' && !unit?.test(m[2]!))) {
    return { error: `'${text}' is not a whole number` };
  }
  const n = Number(m[1]);
  if (n < min || n > max) return { error: `${n} is out of range (${min}–${max})` };
  return { value: n };
}

function readThreads(text: string): Parsed<number> {
  if (/^(ja|yes|on|an|smt|ht|true)$/i.test(text)) return { value: 2 };
  if (/^(nein|no|off|aus|false)$/i.test(text)) return { value: 1 };
  return readWhole(text, 1, 8);
}

/**
 * A number as a German or English spreadsheet writes it: "1,92" and "1.92"; "1.024" is a
 * thousand-and-twenty-four in a German (;-separated) file; "1.024,5" and "1,024.5" both work.
 */
export function readNumber(text: string, german: boolean): number | undefined {
  const s = text.replace(/[\s\u00a0\u202f']/g, '');
  let normal: string | undefined;
  if (/^\d+$/.test(s)) normal = s;
  else if (/^\d{1,3}(\.\d{3})+,\d+$/.test(s)) normal = s.replace(/\./g, '').replace(',', '.');
  else if (/^\d{1,3}(,\d{3})+\.\d+$/.test(s)) normal = s.replace(/,/g, '');
  else if (/^\d+,\d+$/.test(s))
    normal = !german && /^\d{1,3}(,\d{3})+$/.test(s) ? s.replace(/,/g, '') : s.replace(',', '.');
  else if (/^\d+\.\d+$/.test(s) || /^\d{1,3}(\.\d{3})+$/.test(s)) {
    normal = german && /^\d{1,3}(\.\d{3})+$/.test(s) ? s.replace(/\./g, '') : s;
  } else if (/^\d{1,3}(,\d{3})+$/.test(s)) normal = s.replace(/,/g, '');
  return normal === undefined ? undefined : Number(normal);
}

/** A number with an optional unit from `units` (lower-case unit → factor; '' for none). */
function readQuantity(
  text: string,
  german: boolean,
  units: Record<string, number>,
): Parsed<number> {
  const m = /^([\d\s.,'\u00a0\u202f]*\d)\s*([a-zA-Z/]*)$/.exec(text.trim());
  const n = m ? readNumber(m[1]!, german) : undefined;
  if (!m || n === undefined) return { error: `'${text}' is not a number` };
  const unit = m[2]!.toLowerCase();
  const factor = Object.entries(units).find(([u]) => u.toLowerCase() === unit)?.[1];
  if (factor === undefined) {
    const allowed = Object.keys(units).filter(Boolean);
    return { error: `'${text}' is not a number (units allowed: ${allowed.join(', ')})` };
  }
  if (n <= 0) return { error: `'${text}' must be more than 0` };
  return { value: Math.round(n * factor * 1000) / 1000 };
}

function readMemory(text: string, german: boolean): Parsed<number> {
  // Memory is sold in binary units whatever the sheet calls them: "256 GB" of RAM is 256 GiB.
  return readQuantity(text, german, { '': 1, G: 1, GB: 1, GiB: 1, T: 1024, TB: 1024, TiB: 1024 });
}

function readSpeed(text: string, german: boolean): Parsed<number> {
  return readQuantity(text, german, {
    '': 1,
    G: 1,
    GbE: 1,
    Gbit: 1,
    'Gbit/s': 1,
    'Gb/s': 1,
    Gbps: 1,
    Mbit: 0.001,
    'Mbit/s': 0.001,
  });
}

/** B0:7B:25:1A:00:01, b0-7b-25-1a-00-01, b07b.251a.0001 → b0:7b:25:1a:00:01. */
export function normaliseMac(text: string): string | undefined {
  const hex = text.trim().replace(/[:\-.\s]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) return undefined;
  return hex.toLowerCase().match(/../g)!.join(':');
}

function readMac(text: string): Parsed<string> {
  const mac = normaliseMac(text);
  return mac
    ? { value: mac }
    : { error: `'${text}' is not a MAC address (12 hex digits, such as B0:7B:25:1A:00:01)` };
}

function readIp(text: string): Parsed<string> {
  // "10.10.0.11/24" is how some sheets write the address with its network; the plan keeps
  // the network in networks[].cidr.
  const address = text.replace(/\/\d{1,2}$/, '');
  return parseIpv4(address) === undefined
    ? { error: `'${text}' is not an IPv4 address such as 10.10.0.11` }
    : { value: address };
}

const ROLE_WORDS: Record<string, readonly Role[]> = {};
const roleWords: Array<[Role[], string[]]> = [
  [
    ['controller'],
    [
      'controller',
      'control',
      'controlplane',
      'ctl',
      'ctrl',
      'steuerung',
      'steuer',
      'kontroller',
      'master',
    ],
  ],
  [
    ['compute'],
    ['compute', 'rechen', 'rechner', 'hypervisor', 'cmp', 'worker', 'virtualisierung', 'kvm'],
  ],
  [['storage'], ['storage', 'speicher', 'ceph', 'osd', 'sto', 'stor']],
  [
    ['compute', 'storage'],
    ['hci', 'hyperconverged', 'hyperkonvergent'],
  ],
];
for (const [roles, words] of roleWords) for (const w of words) ROLE_WORDS[w] = roles;

function readRoles(text: string): Parsed<Role[]> {
  const roles: Role[] = [];
  for (const part of text.split(/[/,;+&|]|\s+(?:und|and)\s+/i)) {
    const word = key(part).replace(/(node|knoten|server)$/, '');
    if (word === '') continue;
    const found = ROLE_WORDS[word];
    if (!found) {
      return {
        error: `'${part.trim()}' is not a role; write Controller, Compute or Storage (German: Steuerung, Rechenknoten, Speicher), several separated by "/"`,
      };
    }
    for (const r of found) if (!roles.includes(r)) roles.push(r);
  }
  return { value: roles };
}

/**
 * Disks from free text. Groups are separated by ";", "+", "|", a line break, ", " or
 * "und"/"and"; each group is "[count x] size unit type [(use)]" in any order, such as
 * "2x 480 GB SSD (OS RAID1)" or "NVMe 3,84TB x4". Sizes are decimal as printed on disks
 * (1 TB = 1000 GB). The use comes from the text (OS/Boot/System/RAID1 → os, Ceph/OSD →
 * ceph-osd, Data/Daten/Scratch → data, spare/unused/frei → none); without one, a disk is
 * `ceph-osd` on a storage server and `data` elsewhere. Device names are placeholders in
 * the usual kernel order (sda, sdb… and nvme0n1, nvme1n1…) until facts are gathered.
 */
export function readDisks(text: string, storage: boolean, german: boolean): Parsed<Disk[]> {
  const disks: Disk[] = [];
  let sd = 0;
  let nvme = 0;
  for (const group of text.split(/[;+|\n]|,(?=\s)|\s(?:und|and)\s/i)) {
    const part = group.trim();
    if (part === '') continue;
    let rest = part;
    let count = 1;
    // "2x 480 GB SSD", or the count after the disk: "480 GB SSD x2".
    const lead = /^(\d+)\s*[x×*]\s*/i.exec(rest);
    const after = /(?:^|[\s(])[x×]\s*(\d+)\b/i.exec(rest);
    if (lead) {
      count = Number(lead[1]);
      rest = rest.slice(lead[0].length);
    } else if (after) {
      count = Number(after[1]);
      rest = rest.slice(0, after.index) + rest.slice(after.index + after[0].length);
    }
    const size = /(\d+(?:[.,]\d+)?)\s*(TB|TiB|GB|GiB|T|G)(?![a-z])/i.exec(rest);
    if (!size) {
      return {
        error: `cannot read the disk group '${part}': no size such as '480 GB' or '1,92 TB'`,
      };
    }
    if (count < 1 || count > 64)
      return { error: `'${part}': ${count} disks in one group is not plausible` };
    const unit = size[2]!.toLowerCase();
    const factor = unit.startsWith('t')
      ? unit === 'tib'
        ? 1099.511627776
        : 1000
      : unit === 'gib'
        ? 1.073741824
        : 1;
    const sizeGB = Math.round(readNumber(size[1]!, german)! * factor * 1000) / 1000;
    const type = /nvme/i.test(rest)
      ? 'nvme'
      : /ssd|flash/i.test(rest)
        ? 'ssd'
        : /hdd|nl-?sas|rpm|festplatte|\b(?:7[.,]2|10|15)k\b/i.test(rest)
          ? 'hdd'
          : undefined;
    if (!type) {
      return {
        error: `cannot tell whether '${part}' is SSD, HDD or NVMe; add the word SSD, HDD or NVMe`,
      };
    }
    const use: Disk['use'] = /\b(?:os|boot|system|raid\s*-?1)\b/i.test(rest)
      ? 'os'
      : /ceph|osd/i.test(rest)
        ? 'ceph-osd'
        : /\b(?:data|daten|scratch)\b/i.test(rest)
          ? 'data'
          : /\b(?:spare|unused|frei|ungenutzt|none)\b/i.test(rest)
            ? 'none'
            : storage
              ? 'ceph-osd'
              : 'data';
    for (let i = 0; i < count; i++) {
      const device = type === 'nvme' ? `/dev/nvme${nvme++}n1` : `/dev/sd${driveLetters(sd++)}`;
      disks.push({ device, sizeGB, type, use });
    }
  }
  return { value: disks };
}

/** 0 → a, 25 → z, 26 → aa: the kernel's names for the 27th disk and beyond. */
function driveLetters(n: number): string {
  let s = '';
  let i = n + 1;
  while (i > 0) {
    const r = (i - 1) % 26;
    s = String.fromCharCode(97 + r) + s;
    i = Math.floor((i - 1) / 26);
  }
  return s;
}
