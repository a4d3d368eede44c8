import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isUstartError, type UstartError } from '../errors.js';
import {
  CSV_COLUMNS,
  type CsvProblem,
  decodeCsvBytes,
  detectColumns,
  importCsv,
  normaliseMac,
  readDisks,
  readNumber,
} from './csv-import.js';

const FIXTURE = fileURLToPath(
  new URL('../../test/fixtures/customer-inventory-de.csv', import.meta.url),
);

const HEADER =
  'Hostname;Rack;HE;"Höhe (HE)";Hersteller;Modell;CPU-Sockel;Kerne/Sockel;"RAM (GB)";Datenträger;"MAC (Mgmt)";Mgmt-IP;"iDRAC/iLO IP";Rolle;Bemerkung';
const GOOD =
  'ctl-01;R01;40;1;Dell;"PowerEdge R650";2;24;256;"2x 480 GB SSD (OS RAID1)";B0:7B:25:1A:00:01;10.10.0.11;10.9.0.11;Controller;';

function csvError(
  fn: () => unknown,
): UstartError & { detail: { kind: string; problems: CsvProblem[] } } {
  try {
    fn();
  } catch (e) {
    if (isUstartError(e, 'CsvInvalid')) return e as never;
    throw e;
  }
  throw new Error('expected CsvInvalid');
}

describe('importCsv on the customer inventory', () => {
  it('reads every row of the German Excel export', async () => {
    const { text, encoding } = decodeCsvBytes(await readFile(FIXTURE), 'inventory.csv');
    expect(encoding).toBe('utf-8');
    const result = importCsv(text, { file: 'inventory.csv' });
    expect(result.delimiter).toBe(';');
    expect(result.servers.map((s) => s.hostname)).toEqual([
      'ctl-01',
      'ctl-02',
      'ctl-03',
      'cmp-01',
      'cmp-02',
      'cmp-03',
      'cmp-04',
      'sto-01',
      'sto-02',
      'sto-03',
      'hci-01',
    ]);
    expect(result.racks).toEqual([
      { name: 'R01', units: 42, powerKw: 8 },
      { name: 'R02', units: 42, powerKw: 8 },
    ]);
    const [ctl1, ctl2, ctl3] = result.servers;
    // Three MAC spellings, one form.
    expect(ctl1!.nics[0]!.mac).toBe('b0:7b:25:1a:00:01');
    expect(ctl2!.nics[0]!.mac).toBe('b0:7b:25:1a:00:02');
    expect(ctl3!.nics[0]!.mac).toBe('b0:7b:25:1a:00:03');
    expect(ctl1).toMatchObject({
      rack: 'R01',
      position: 40,
      units: 1,
      vendor: 'Dell',
      model: 'PowerEdge R650',
      cpu: { sockets: 2, cores: 24, threads: 2 },
      memoryGiB: 256,
      addresses: { mgmt: '10.10.0.11' },
      bmc: { address: '10.9.0.11', protocol: 'redfish' },
      roles: ['controller'],
    });
    // "2x 480 GB SSD (OS RAID1); 1x 1,92 TB NVMe"
    expect(ctl1!.disks).toEqual([
      { device: '/dev/sda', sizeGB: 480, type: 'ssd', use: 'os' },
      { device: '/dev/sdb', sizeGB: 480, type: 'ssd', use: 'os' },
      { device: '/dev/nvme0n1', sizeGB: 1920, type: 'nvme', use: 'data' },
    ]);
    expect(ctl3!.notes).toBe('Ersatzteil bestellt');
    const sto1 = result.servers[7]!;
    expect(sto1.disks.filter((d) => d.use === 'ceph-osd')).toHaveLength(8);
    expect(sto1.disks[2]).toEqual({
      device: '/dev/nvme0n1',
      sizeGB: 7680,
      type: 'nvme',
      use: 'ceph-osd',
    });
    const hci = result.servers[10]!;
    expect(hci.roles).toEqual(['compute', 'storage']);
    expect(hci.disks.map((d) => `${d.sizeGB}/${d.use}`)).toEqual([
      '480/os',
      '480/os',
      '3840/ceph-osd',
      '3840/ceph-osd',
      '3840/ceph-osd',
      '3840/ceph-osd',
    ]);
    expect(result.servers[3]!.disks).toEqual([
      { device: '/dev/nvme0n1', sizeGB: 960, type: 'nvme', use: 'os' },
    ]);
    expect(result.warnings.map((w) => w.field)).toEqual(['threads', 'nicSpeed']);
  });
});

describe('importCsv on bad input', () => {
  it('lists every unusable cell with its line and column, and returns nothing', () => {
    const text = [
      HEADER,
      GOOD,
      'ctl-02;R02;40;1;Dell;"PowerEdge R650";2;24;25b;"2x 480 GB SSD (OS)";zz:7b:25:1a:00:02;10.10.0.12;10.9.0.312;Controller;',
      '',
      'cmp-01;R01;30;2;HPE;DL385;2;64;1024;"2x foo";94:40:C9:00:10:01;10.10.0.21;10.9.0.21;Datenbank;"mehrzeilige',
      'Bemerkung"',
      'cmp-02;R01;;2;HPE;DL385;2,5;64;1024;"1x 960 GB NVMe (OS)";94:40:C9:00:10:02;10.10.0.22;10.9.0.22;Compute;',
      'CTL-01;R02;10;1;Dell;R650;2;24;256;"1x 480 GB SSD (OS)";B0:7B:25:1A:00:99;;;Compute;',
    ].join('\r\n');
    const e = csvError(() => importCsv(text, { file: 'bad.csv' }));
    expect(e.detail.kind).toBe('rows');
    const lines = e.message.split('\n');
    expect(lines[0]).toBe('bad.csv: 4 rows cannot be imported; nothing was imported.');
    expect(lines.slice(1, -1)).toEqual([
      "  line 3, column 'RAM (GB)': '25b' is not a number (units allowed: G, GB, GiB, T, TB, TiB)",
      "  line 3, column 'MAC (Mgmt)': 'zz:7b:25:1a:00:02' is not a MAC address (12 hex digits, such as B0:7B:25:1A:00:01)",
      "  line 3, column 'iDRAC/iLO IP': '10.9.0.312' is not an IPv4 address such as 10.10.0.11",
      `  line 5, column 'Rolle': 'Datenbank' is not a role; write Controller, Compute or Storage (German: Steuerung, Rechenknoten, Speicher), several separated by "/"`,
      "  line 5, column 'Datenträger': cannot read the disk group '2x foo': no size such as '480 GB' or '1,92 TB'",
      "  line 7, column 'HE': is empty; this column is required",
      "  line 7, column 'CPU-Sockel': '2,5' is not a whole number",
      "  line 8, column 'Hostname': 'ctl-01' already appears on line 2",
    ]);
    expect(e.detail.problems[0]).toEqual({
      line: 3,
      column: 'RAM (GB)',
      field: 'memory',
      message: "'25b' is not a number (units allowed: G, GB, GiB, T, TB, TiB)",
    });
  });

  it('refuses a file with another separator, naming the ones it accepts', () => {
    const e = csvError(() =>
      importCsv(HEADER.replace(/;/g, '|') + '\n' + GOOD.replace(/;/g, '|'), { file: 'pipe.csv' }),
    );
    expect(e.detail.kind).toBe('file');
    expect(e.message).toContain('pipe.csv: cannot find the column separator');
    expect(e.message).toContain('";" or ","');
  });

  it('refuses an empty file, a BOM-only file and a header without rows', () => {
    expect(csvError(() => importCsv('', { file: 'e.csv' })).message).toMatch(/^e\.csv is empty/);
    expect(csvError(() => importCsv('\ufeff\r\n\r\n', { file: 'e.csv' })).message).toMatch(
      /^e\.csv is empty/,
    );
    expect(csvError(() => importCsv(HEADER + '\r\n;;;;\r\n', { file: 'h.csv' })).message).toBe(
      'h.csv has a header row but no servers below it.',
    );
  });

  it('names a missing required column and the header names it accepts', () => {
    const header = HEADER.replace(';"RAM (GB)"', ';Bestand');
    const e = csvError(() => importCsv(`${header}\n${GOOD}`, { file: 'noram.csv' }));
    expect(e.detail.kind).toBe('file');
    expect(e.message).toContain('the header row (line 1) lacks a required column');
    expect(e.message).toContain(
      'no column for RAM (GB); accepted header names: RAM (GB), RAM, Memory, Memory (GB), Arbeitsspeicher',
    );
    expect(e.message).toContain("'Bestand'");
  });

  it('reports a quote that is never closed with its line', () => {
    const e = csvError(() => importCsv(`${HEADER}\n${GOOD}\nx;"R01;1`, { file: 'q.csv' }));
    expect(e.message).toMatch(/^q\.csv:\d+: a quoted cell is never closed/);
  });

  it('refuses binary data', () => {
    expect(() => decodeCsvBytes(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0]), 'x.xlsx')).toThrow(
      /x\.xlsx is a binary file/,
    );
  });
});

describe('importCsv on other spellings', () => {
  it('reads English headers, commas and decimal points, with roles in several words', () => {
    const text = [
      'host name,RACK,Position,Height (U),Vendor,Model,Sockets,Cores per socket,Threads,Memory,Disks,MAC,IP,BMC,Roles,Notes,Power (W)',
      'node-1,A1,U12,2U,Lenovo,SR650,2,16,1,1.5 TB,"2 x 960GB SSD boot + 6 x 7.68TB NVMe",94-40-c9-00-10-aa,192.168.1.10/24,,Controller + Storage Node,,"1,100"',
      'node-2.example.com,A1,10-11,,Lenovo,SR650,2,16,yes,512,"NVMe 3.84TB x4 (data); 1x 480GB SATA SSD OS",94:40:C9:00:10:AB,,192.168.9.10,HCI,ok,800',
    ].join('\n');
    const result = importCsv(text, { file: 'en.csv', managementNetwork: 'oam' });
    expect(result.delimiter).toBe(',');
    const [a, b] = result.servers;
    expect(a).toMatchObject({
      hostname: 'node-1',
      position: 12,
      units: 2,
      cpu: { sockets: 2, cores: 16, threads: 1 },
      memoryGiB: 1536,
      roles: ['controller', 'storage'],
      addresses: { oam: '192.168.1.10' },
      nics: [{ name: 'eno1', mac: '94:40:c9:00:10:aa', speedGbps: 10, network: 'oam' }],
      powerW: 1100,
    });
    expect(a!.bmc).toBeUndefined();
    expect(a!.disks.map((d) => `${d.device} ${d.sizeGB} ${d.type} ${d.use}`)).toEqual([
      '/dev/sda 960 ssd os',
      '/dev/sdb 960 ssd os',
      ...[0, 1, 2, 3, 4, 5].map((i) => `/dev/nvme${i}n1 7680 nvme ceph-osd`),
    ]);
    expect(b).toMatchObject({
      hostname: 'node-2',
      position: 10,
      units: 2,
      cpu: { threads: 2 },
      roles: ['compute', 'storage'],
      addresses: {},
      bmc: { address: '192.168.9.10' },
    });
    expect(b!.disks.map((d) => `${d.type} ${d.use}`)).toEqual([
      'nvme data',
      'nvme data',
      'nvme data',
      'nvme data',
      'ssd os',
    ]);
    expect(result.warnings).toContainEqual({
      line: 3,
      column: 'host name',
      field: 'hostname',
      message: "FQDN shortened to 'node-2'",
    });
  });

  it('accepts German role words and reads a Windows-1252 export', () => {
    const latin1 = Buffer.from(
      'Hostname;Rack;HE;Höhe (HE);Modell;CPU-Sockel;Kerne/Sockel;RAM (GB);Rolle\r\n' +
        'k1;R1;1;1;X;1;8;64;Steuerung/Rechenknoten/Speicher\r\n',
      'latin1',
    );
    const { text, encoding } = decodeCsvBytes(latin1);
    expect(encoding).toBe('windows-1252');
    const result = importCsv(text);
    expect(result.mapping.units).toBe(3);
    expect(result.servers[0]!.roles).toEqual(['controller', 'compute', 'storage']);
    expect(result.warnings.map((w) => w.field)).toEqual(['threads']);
  });

  it('lets the caller map columns by index or name, and ignore one', () => {
    const text = ['Name;Schrank;Slot;Art;S;C;Mem;Mac', 'x1;R9;7;Y;1;4;32;00:11:22:33:44:55'].join(
      '\n',
    );
    expect(() => importCsv(text)).toThrow(/no column for HE/);
    const result = importCsv(text, {
      mapping: { position: 2, model: 'art', sockets: 'S', cores: 5, memory: 'MEM', mac: null },
    });
    expect(result.servers[0]).toMatchObject({
      hostname: 'x1',
      rack: 'R9',
      position: 7,
      model: 'Y',
      cpu: { sockets: 1, cores: 4 },
      memoryGiB: 32,
      nics: [],
    });
    expect(result.warnings).toContainEqual({
      column: 'Mac',
      message: 'column not recognised; ignored',
    });
    expect(() => importCsv(text, { mapping: { position: 'Höhe' } })).toThrow(
      /puts position in column "Höhe", which the file does not have/,
    );
  });
});

describe('column and cell readers', () => {
  it('detects German and English headers whatever their case and punctuation', () => {
    expect(
      detectColumns(['HOSTNAME', 'ram (gb)', 'Hoehe (HE)', 'kerne / sockel', 'Foo', 'Name']),
    ).toEqual({
      hostname: 0,
      memory: 1,
      units: 2,
      cores: 3,
    });
  });

  it('normalises MACs in every vendor spelling', () => {
    expect(normaliseMac('B0:7B:25:1A:00:01')).toBe('b0:7b:25:1a:00:01');
    expect(normaliseMac('b0-7b-25-1a-00-02')).toBe('b0:7b:25:1a:00:02');
    expect(normaliseMac('b07b.251a.0003')).toBe('b0:7b:25:1a:00:03');
    expect(normaliseMac('b07b251a0004')).toBe('b0:7b:25:1a:00:04');
    expect(normaliseMac('b0:7b:25:1a:00')).toBeUndefined();
    expect(normaliseMac('g0:7b:25:1a:00:01')).toBeUndefined();
  });

  it('reads numbers as German and English sheets write them', () => {
    expect(readNumber('1,92', true)).toBe(1.92);
    expect(readNumber('1.024', true)).toBe(1024);
    expect(readNumber('1.024', false)).toBe(1.024);
    expect(readNumber('1.024,5', true)).toBe(1024.5);
    expect(readNumber('1,024.5', false)).toBe(1024.5);
    expect(readNumber('1 024', true)).toBe(1024);
    expect(readNumber('25b', true)).toBeUndefined();
  });

  it('reads disk descriptions and refuses ones without a medium', () => {
    expect(readDisks('1x 3,84 TiB HDD 7.2k', false, true)).toEqual({
      value: [{ device: '/dev/sda', sizeGB: 4222.125, type: 'hdd', use: 'data' }],
    });
    expect(readDisks('2x 4 TB', true, true)).toEqual({
      error: "cannot tell whether '2x 4 TB' is SSD, HDD or NVMe; add the word SSD, HDD or NVMe",
    });
    expect(readDisks('2x 480 GB SSD (spare)', true, true)).toMatchObject({
      value: [{ use: 'none' }, { use: 'none' }],
    });
    const many = readDisks('28x 1 TB SSD', false, true);
    expect('value' in many && many.value.at(-1)?.device).toBe('/dev/sdab');
  });
});

describe('importCsv on random input', () => {
  const onlyCsvInvalid = (text: string) => {
    try {
      importCsv(text, { file: 'r.csv' });
    } catch (e) {
      if (!isUstartError(e, 'CsvInvalid')) throw e;
    }
  };

  it('refuses a host name with shell metacharacters', () => {
    const row = GOOD.replace('ctl-01;', '"ctl-01$(reboot)";');
    const e = csvError(() => importCsv(`${HEADER}\n${row}`));
    expect(e.message).toContain("line 2, column 'Hostname': 'ctl-01$(reboot)' is not a host name");
  });

  it('throws nothing but CsvInvalid on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), onlyCsvInvalid), {
      numRuns: 500,
    });
  });

  it('throws nothing but CsvInvalid when cells of the inventory are replaced at random', async () => {
    const { text } = decodeCsvBytes(await readFile(FIXTURE));
    const lines = text.split('\r\n');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(lines.length - 1), fc.nat(14), fc.string({ maxLength: 12 })), {
          maxLength: 6,
        }),
        (edits) => {
          const copy = lines.map((l) => l.split(';'));
          for (const [line, cell, value] of edits) {
            const row = copy[line]!;
            if (cell < row.length) row[cell] = value;
          }
          onlyCsvInvalid(copy.map((r) => r.join(';')).join('\r\n'));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('docs/csv-import.md', () => {
  it('lists every accepted header name, so the documentation cannot fall behind', async () => {
    const doc = await readFile(new URL('../../docs/csv-import.md', import.meta.url), 'utf8');
    const undocumented = CSV_COLUMNS.flatMap((c) => c.names).filter(
      (n) => !doc.includes(`\`${n}\``),
    );
    expect(undocumented).toEqual([]);
  });
});
