import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/api';
import { DICTIONARIES, countText } from '../i18n';
import { placeOf, type PlaceWords } from './finding-place';

const plan = {
  site: { name: 'x', ntp: ['10.0.0.1', '10.0.0.2'] },
  networks: [
    { name: 'mgmt', cidr: '10.10.0.0/24', pool: { start: '10.10.0.11', end: '10.10.0.20' } },
    { name: 'storage', cidr: '10.20.0.0/24' },
  ],
  racks: [{ name: 'R01' }],
  servers: [
    {
      hostname: 'sto-01',
      nics: [{ name: 'eno1' }, { name: 'eno2' }],
      disks: [{ device: '/dev/nvme0n1' }],
      bonds: [{ name: 'bond0', members: ['eno1', 'eno2'] }],
      addresses: {},
      roles: ['storage'],
    },
  ],
} as unknown as Plan;

const en: PlaceWords = {
  plan: 'Plan',
  site: 'Site',
  servers: 'Servers',
  network: 'network',
  rack: 'rack',
  nic: 'NIC',
  disk: 'disk',
  bond: 'bond',
  bmc: 'BMC',
  address: 'address on',
  roles: 'roles',
  acknowledgement: 'acknowledgement',
};

describe('placeOf', () => {
  it.each([
    ['/servers/0/nics/1', 'sto-01 › NIC eno2'],
    ['/servers/0/nics/1/network', 'sto-01 › NIC eno2 › network'],
    ['/servers/0/disks/0/use', 'sto-01 › disk /dev/nvme0n1 › use'],
    ['/servers/0/bonds/0/members/1', 'sto-01 › bond bond0 › members #2'],
    ['/servers/0/addresses/storage', 'sto-01 › address on storage'],
    ['/servers/0/bmc/address', 'sto-01 › BMC › address'],
    ['/servers/0/roles/0', 'sto-01 › roles'],
    ['/servers/0/cpu/cores', 'sto-01 › cpu › cores'],
    ['/servers/0/rack', 'sto-01 › rack'],
    ['/servers', 'Servers'],
    ['/networks/1/cidr', 'network storage › cidr'],
    ['/networks/0/pool/start', 'network mgmt › pool › start'],
    ['/racks/0/powerKw', 'rack R01 › powerKw'],
    ['/site/ntp/1', 'Site › ntp #2'],
    ['/site', 'Site'],
    ['/kubernetes/podCidr', 'kubernetes › podCidr'],
    ['/acknowledgements/1/rule', 'acknowledgement #2 › rule'],
    ['', 'Plan'],
  ])('%s reads %s', (path, place) => {
    expect(placeOf(plan, path, en)).toBe(place);
  });

  it('counts items the plan no longer has instead of failing', () => {
    expect(placeOf(plan, '/servers/4/nics/0', en)).toBe('#5 › NIC #1');
    expect(placeOf(undefined, '/networks/2/vlan', en)).toBe('network #3 › vlan');
  });

  it('uses the names given, such as German words', () => {
    const de = { ...en, disk: 'Platte', address: 'Adresse im Netz' };
    expect(placeOf(plan, '/servers/0/disks/0', de)).toBe('sto-01 › Platte /dev/nvme0n1');
    expect(placeOf(plan, '/servers/0/addresses/mgmt', de)).toBe('sto-01 › Adresse im Netz mgmt');
  });
});

describe('countText', () => {
  it('says 1 error and 2 errors, 1 Warnung and 2 Warnungen', () => {
    const words = ['findingsErrorsOne', 'findingsErrors'] as const;
    const warn = ['findingsWarningsOne', 'findingsWarnings'] as const;
    expect([0, 1, 2].map((n) => countText('en', n, ...words))).toEqual([
      '0 errors',
      '1 error',
      '2 errors',
    ]);
    expect([0, 1, 2].map((n) => countText('en', n, ...warn))).toEqual([
      '0 warnings',
      '1 warning',
      '2 warnings',
    ]);
    expect([1, 2].map((n) => countText('de', n, ...words))).toEqual(['1 Fehler', '2 Fehler']);
    expect([0, 1, 2].map((n) => countText('de', n, ...warn))).toEqual([
      '0 Warnungen',
      '1 Warnung',
      '2 Warnungen',
    ]);
    expect(DICTIONARIES.de.placeDisk).toBe('Platte');
  });
});
