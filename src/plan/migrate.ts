/**
 * Migrations between plan schema versions. A plan is migrated in memory when it is loaded;
 * the file on disk is rewritten only when the user saves (and then the previous file is
 * kept as a backup).
 *
 * Version 0 is the unversioned draft format of uStart's prototype: no `schemaVersion`,
 * `servers[].ram` in GiB instead of `memoryGiB`, and a single `servers[].role` string
 * instead of the `roles` list.
 */
import { UstartError } from '../errors.js';
import { CURRENT_SCHEMA_VERSION } from './schema.js';

type Raw = Record<string, unknown>;

/** `MIGRATIONS[n]` turns a version-n plan into a version-(n+1) plan. */
const MIGRATIONS: Record<number, (plan: Raw) => Raw> = {
  0: (plan) => {
    const servers = Array.isArray(plan.servers) ? plan.servers : plan.servers;
    const migrated = Array.isArray(servers)
      ? servers.map((s: unknown) => {
          if (!isRecord(s)) return s;
          const { ram, role, ...rest } = s;
          const out: Raw = { ...rest };
          if (ram !== undefined && out.memoryGiB === undefined) out.memoryGiB = ram;
          if (role !== undefined && out.roles === undefined) {
            out.roles = typeof role === 'string' ? [role] : role;
          }
          return out;
        })
      : servers;
    return { schemaVersion: 1, ...plan, servers: migrated };
  },
};

export interface Migrated {
  value: unknown;
  /** The version the file was written in. */
  fromVersion: number;
}

export function versionOf(raw: unknown): number | undefined {
  if (!isRecord(raw)) return undefined;
  if (!('schemaVersion' in raw)) return 0;
  return typeof raw.schemaVersion === 'number' && Number.isInteger(raw.schemaVersion)
    ? raw.schemaVersion
    : undefined;
}

/** Brings a parsed plan up to the current schema version, or refuses a newer one. */
export function migrate(raw: unknown, file: string): Migrated {
  const version = versionOf(raw);
  if (version === undefined || version < 0) {
    // Not a number: leave it to the schema check, which names the field.
    return { value: raw, fromVersion: CURRENT_SCHEMA_VERSION };
  }
  if (version > CURRENT_SCHEMA_VERSION) {
    throw new UstartError(
      'PlanTooNew',
      `${file}: schemaVersion ${version} was written by a newer uStart; this one reads up to ${CURRENT_SCHEMA_VERSION}. Update uStart to open it (the file was not changed).`,
      { detail: { file, version } },
    );
  }
  let value = raw as Raw;
  for (let v = version; v < CURRENT_SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new Error(`no migration from plan schema version ${v}`);
    value = step(value);
  }
  return { value, fromVersion: version };
}

function isRecord(x: unknown): x is Raw {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
