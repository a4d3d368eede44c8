/**
 * Rack geometry for the elevation view: which units a server occupies and whether it may
 * move somewhere. Kept free of React so the collision rules are tested on their own.
 */
import type { Plan } from '../../../src/api';

type Server = Plan['servers'][number];

/** Watts a server draws when the plan does not say (the core's report uses the same figure). */
export const WATTS_PER_U = 350;

export function powerW(server: Server): number {
  return server.powerW ?? server.units * WATTS_PER_U;
}

export type Placement =
  { ok: true } | { ok: false; reason: 'no-rack' | 'out-of-range' | 'collision'; with?: string };

/** Whether server `index` fits at `position` in `rack` without overlapping another server. */
export function canPlace(plan: Plan, index: number, rackName: string, position: number): Placement {
  const server = plan.servers[index];
  const rack = plan.racks.find((r) => r.name === rackName);
  if (!server || !rack) return { ok: false, reason: 'no-rack' };
  const top = position + server.units - 1;
  if (position < 1 || top > rack.units) return { ok: false, reason: 'out-of-range' };
  const other = plan.servers.find(
    (s, i) =>
      i !== index &&
      s.rack === rackName &&
      s.position <= top &&
      position <= s.position + s.units - 1,
  );
  return other ? { ok: false, reason: 'collision', with: other.hostname } : { ok: true };
}

/** The lowest free position in `rack` for a server of `units` height, or undefined. */
export function firstFree(
  plan: Plan,
  rackName: string,
  units: number,
  ignore = -1,
): number | undefined {
  const rack = plan.racks.find((r) => r.name === rackName);
  if (!rack) return undefined;
  const taken = new Array<boolean>(rack.units + 2).fill(false);
  plan.servers.forEach((s, i) => {
    if (i === ignore || s.rack !== rackName) return;
    for (let u = s.position; u < s.position + s.units; u++) taken[u] = true;
  });
  for (let p = 1; p + units - 1 <= rack.units; p++) {
    let free = true;
    for (let u = p; u < p + units && free; u++) free = !taken[u];
    if (free) return p;
  }
  return undefined;
}

/** Power drawn per rack in kW, by rack name. */
export function rackPowerKw(plan: Plan): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of plan.servers) out.set(s.rack, (out.get(s.rack) ?? 0) + powerW(s) / 1000);
  return out;
}

/** The rack unit under a point `fromTop` pixels below the top of a rack drawn `uPx` per U. */
export function unitAt(rackUnits: number, fromTop: number, uPx: number): number {
  return Math.min(rackUnits, Math.max(1, rackUnits - Math.floor(fromTop / uPx)));
}
