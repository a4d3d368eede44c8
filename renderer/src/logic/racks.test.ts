import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/api';
import { canPlace, firstFree, rackPowerKw, unitAt } from './racks';

function server(hostname: string, rack: string, position: number, units = 1, powerW?: number) {
  return {
    hostname,
    rack,
    position,
    units,
    model: 'm',
    cpu: { sockets: 1, cores: 1, threads: 1 },
    memoryGiB: 1,
    disks: [],
    nics: [],
    addresses: {},
    roles: [],
    ...(powerW ? { powerW } : {}),
  };
}

const plan = {
  racks: [
    { name: 'R01', units: 42, powerKw: 8 },
    { name: 'R02', units: 10, powerKw: 4 },
  ],
  servers: [server('a', 'R01', 40, 1), server('b', 'R01', 30, 2), server('c', 'R02', 1, 2, 900)],
} as unknown as Plan;

describe('rack placement', () => {
  it('allows a free spot and the server’s own spot', () => {
    expect(canPlace(plan, 1, 'R01', 10)).toEqual({ ok: true });
    expect(canPlace(plan, 1, 'R01', 30)).toEqual({ ok: true });
    expect(canPlace(plan, 1, 'R01', 29)).toEqual({ ok: true });
  });

  it('refuses a spot that overlaps another server, naming it, at either edge', () => {
    expect(canPlace(plan, 1, 'R01', 39)).toEqual({ ok: false, reason: 'collision', with: 'a' });
    expect(canPlace(plan, 1, 'R01', 40)).toEqual({ ok: false, reason: 'collision', with: 'a' });
    expect(canPlace(plan, 0, 'R01', 31)).toEqual({ ok: false, reason: 'collision', with: 'b' });
    expect(canPlace(plan, 0, 'R01', 30)).toEqual({ ok: false, reason: 'collision', with: 'b' });
    expect(canPlace(plan, 1, 'R02', 2)).toEqual({ ok: false, reason: 'collision', with: 'c' });
  });

  it('refuses spots outside the rack and racks that do not exist', () => {
    expect(canPlace(plan, 1, 'R01', 42)).toMatchObject({ ok: false, reason: 'out-of-range' });
    expect(canPlace(plan, 1, 'R01', 0)).toMatchObject({ ok: false, reason: 'out-of-range' });
    expect(canPlace(plan, 1, 'R09', 1)).toMatchObject({ ok: false, reason: 'no-rack' });
  });

  it('finds the lowest free spot of a height, ignoring the server being moved', () => {
    expect(firstFree(plan, 'R02', 2)).toBe(3);
    expect(firstFree(plan, 'R02', 2, 2)).toBe(1);
    expect(firstFree(plan, 'R02', 11)).toBeUndefined();
  });

  it('adds up rack power with the per-unit estimate where the plan gives none', () => {
    const power = rackPowerKw(plan);
    expect(power.get('R01')).toBeCloseTo((350 + 700) / 1000);
    expect(power.get('R02')).toBeCloseTo(0.9);
  });

  it('maps a pointer position to the unit under it, clamped to the rack', () => {
    expect(unitAt(42, 0, 14)).toBe(42);
    expect(unitAt(42, 14 * 41 + 3, 14)).toBe(1);
    expect(unitAt(42, 10_000, 14)).toBe(1);
    expect(unitAt(42, -50, 14)).toBe(42);
  });
});
