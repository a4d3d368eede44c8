/** The site plan: load, validate, save. The one entry point fronts use for plan files. */
import { countBySeverity, type Finding } from './finding.js';
import { copyParsed, loadPlanFile, locate, type ParsedPlan } from './load.js';
import { validatePlan } from './validate/index.js';

export * from './finding.js';
export * from './schema.js';
export { loadPlanFile, parsePlanText, parsePlanBytes, type ParsedPlan } from './load.js';
export { savePlanFile, planToYaml } from './save.js';
export { emptyPlan } from './empty.js';
export {
  copyDiscovered,
  DISCOVERED_FIELDS,
  sameDiscoveredFields,
  type DiscoveredField,
} from './discovered.js';
export { validatePlan, RULES } from './validate/index.js';
export {
  allocateAddresses,
  type Allocation,
  type IpamResult,
  type NetworkAddressPlan,
} from './ipam.js';
export { computeCapacity, type CapacityOptions, type CapacityReport } from './capacity.js';
export {
  CSV_COLUMNS,
  decodeCsvBytes,
  detectColumns,
  importCsv,
  type ColumnMapping,
  type CsvImport,
  type CsvImportOptions,
  type CsvProblem,
} from './csv-import.js';

export interface CheckedPlan extends ParsedPlan {
  /** Schema findings, or (when the schema holds) every rule's findings, with line numbers. */
  findings: Finding[];
  valid: boolean;
}

/** Loads a plan file and validates it. Throws UstartError only when the file cannot be read. */
export async function checkPlanFile(file: string): Promise<CheckedPlan> {
  return checkParsed(await loadPlanFile(file));
}

/**
 * Validates a parsed plan. `lines: false` leaves findings without line numbers, so the YAML
 * document is never built (the UI points at fields, not lines).
 */
export function checkParsed(parsed: ParsedPlan, options: { lines?: boolean } = {}): CheckedPlan {
  if (!parsed.plan) return copyParsed(parsed, { valid: false });
  const findings = validatePlan(parsed.plan);
  if (options.lines !== false) {
    for (const f of findings) Object.assign(f, locate(parsed.document, parsed.lineCounter, f.path));
  }
  return copyParsed(parsed, { findings, valid: countBySeverity(findings).error === 0 });
}
