/** The CSV mapping step's checks and the merge of imported servers into a plan. */
import type { CsvFieldInfo, CsvMapping, Plan } from '../../../src/api';

export type MappingProblem =
  | { kind: 'required-missing'; field: string }
  | { kind: 'column-twice'; column: string; fields: string[] };

/** What stops the mapping from being used: required fields unmapped, a column used twice. */
export function mappingProblems(
  fields: readonly CsvFieldInfo[],
  mapping: CsvMapping,
): MappingProblem[] {
  const problems: MappingProblem[] = [];
  for (const f of fields) {
    if (f.required && !mapping[f.field])
      problems.push({ kind: 'required-missing', field: f.field });
  }
  const byColumn = new Map<string, string[]>();
  for (const f of fields) {
    const column = mapping[f.field];
    if (column) byColumn.set(column, [...(byColumn.get(column) ?? []), f.field]);
  }
  for (const [column, used] of byColumn) {
    if (used.length > 1) problems.push({ kind: 'column-twice', column, fields: used });
  }
  return problems;
}

/**
 * Adds imported racks and servers to a plan. A server whose hostname the plan already has
 * replaces it (a re-import of a corrected list); racks the plan has are kept as they are.
 */
export function mergeImport(
  plan: Plan,
  imported: { servers: Plan['servers']; racks: Plan['racks'] },
): Plan {
  const racks = [...plan.racks];
  for (const r of imported.racks) if (!racks.some((x) => x.name === r.name)) racks.push(r);
  const servers = [...plan.servers];
  for (const s of imported.servers) {
    const at = servers.findIndex((x) => x.hostname === s.hostname);
    if (at >= 0) servers[at] = s;
    else servers.push(s);
  }
  return { ...plan, racks, servers };
}
