import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/api';
import { mappingProblems, mergeImport } from './csv-mapping';

const fields = [
  { field: 'hostname', required: true, description: '' },
  { field: 'rack', required: true, description: '' },
  { field: 'notes', required: false, description: '' },
  { field: 'model', required: false, description: '' },
];

describe('CSV mapping step', () => {
  it('accepts a mapping with every required field and no column used twice', () => {
    expect(mappingProblems(fields, { hostname: 'Hostname', rack: 'Rack', notes: null })).toEqual(
      [],
    );
  });

  it('names each required field left unmapped', () => {
    expect(mappingProblems(fields, { hostname: null, notes: 'Bemerkung' })).toEqual([
      { kind: 'required-missing', field: 'hostname' },
      { kind: 'required-missing', field: 'rack' },
    ]);
  });

  it('names a column mapped to two fields', () => {
    expect(mappingProblems(fields, { hostname: 'Name', rack: 'Rack', model: 'Name' })).toEqual([
      { kind: 'column-twice', column: 'Name', fields: ['hostname', 'model'] },
    ]);
  });

  it('merges an import: new racks added, known racks kept, same hostnames replaced', () => {
    const plan = {
      racks: [{ name: 'R01', units: 48, powerKw: 10 }],
      servers: [
        { hostname: 'a', rack: 'R01', position: 1 },
        { hostname: 'b', rack: 'R01', position: 2 },
      ],
    } as unknown as Plan;
    const merged = mergeImport(plan, {
      racks: [
        { name: 'R01', units: 42, powerKw: 8 },
        { name: 'R02', units: 42, powerKw: 8 },
      ],
      servers: [
        { hostname: 'b', rack: 'R02', position: 5 },
        { hostname: 'c', rack: 'R02', position: 7 },
      ] as unknown as Plan['servers'],
    });
    expect(merged.racks).toEqual([
      { name: 'R01', units: 48, powerKw: 10 },
      { name: 'R02', units: 42, powerKw: 8 },
    ]);
    expect(merged.servers.map((s) => `${s.hostname}@${s.rack}`)).toEqual([
      'a@R01',
      'b@R02',
      'c@R02',
    ]);
    expect(plan.servers).toHaveLength(2);
  });
});
