/**
 * A Redfish service double over HTTPS (a self-signed certificate made with openssl), written
 * from the DMTF schema (DMTF/Redfish-Publications 2025.4, json-schema; rows `redfish.*` in
 * docs/upstream-facts.md), with our own fixtures. It enforces session authentication
 * (SessionService: POST Sessions → `X-Auth-Token` + `Location`; every resource but the
 * service root needs the token; DELETE ends it) and answers errors with Redfish error bodies.
 *
 * Resources: ServiceRoot, SessionService/Sessions, Systems/1 (PowerState, Boot, the Reset
 * action with `@Redfish.AllowableValues`, an ETag checked on `If-Match`), Processors, Memory,
 * EthernetInterfaces, Storage/1 with Drives, Managers/1 with VirtualMedia/CD1 (InsertMedia,
 * EjectMedia). Power, the one-time boot and the CD act on a real QEMU VM (redfish-qemu.ts);
 * InsertMedia downloads the image over HTTP as a BMC does and puts it in QEMU's CD-ROM.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QemuMachine } from './redfish-qemu.js';

const run = promisify(execFile);

export interface Hardware {
  manufacturer: string;
  model: string;
  serialNumber: string;
  cpus: { model: string; cores: number; threads: number }[];
  dimmsMiB: number[];
  nics: { id: string; mac: string; speedMbps: number }[];
  drives: {
    id: string;
    capacityBytes: number;
    mediaType: 'HDD' | 'SSD';
    protocol: 'SATA' | 'SAS' | 'NVMe';
  }[];
}

export const SAMPLE_HARDWARE: Hardware = {
  manufacturer: 'Contoso',
  model: 'CX-2200',
  serialNumber: 'CX22-0042',
  cpus: [
    { model: 'Contoso C9 32-core', cores: 32, threads: 64 },
    { model: 'Contoso C9 32-core', cores: 32, threads: 64 },
  ],
  dimmsMiB: Array.from({ length: 16 }, () => 32768),
  nics: [
    { id: 'NIC1', mac: '0A:1B:2C:3D:4E:01', speedMbps: 25000 },
    { id: 'NIC2', mac: '0A:1B:2C:3D:4E:02', speedMbps: 25000 },
  ],
  drives: [
    { id: 'Disk0', capacityBytes: 480_103_981_056, mediaType: 'SSD', protocol: 'SATA' },
    { id: 'Disk1', capacityBytes: 3_840_755_982_336, mediaType: 'SSD', protocol: 'NVMe' },
    { id: 'Disk2', capacityBytes: 8_001_563_222_016, mediaType: 'HDD', protocol: 'SAS' },
  ],
};

export interface RedfishDoubleOptions {
  dir: string;
  host?: string;
  port?: number;
  username: string;
  password: string;
  hardware?: Hardware;
  /** The Reset types the system allows; the schema's full list less Nmi/Suspend when absent. */
  resetTypes?: string[];
  /** A certificate to reuse (to test a changed one, pass none). */
  certificate?: { key: string; cert: string };
}

type Json = Record<string, unknown>;

const RESET_TYPES = [
  'On',
  'ForceOff',
  'GracefulShutdown',
  'GracefulRestart',
  'ForceRestart',
  'ForceOn',
  'PowerCycle',
];
const BOOT_TARGETS = ['None', 'Pxe', 'Cd', 'Hdd', 'BiosSetup'];

/** A self-signed certificate made by openssl, and its SHA-256 fingerprint as openssl prints it. */
export async function makeCertificate(
  dir: string,
  name = 'bmc',
): Promise<{ key: string; cert: string; fingerprint: string }> {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}-cert.pem`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
  const { stdout } = await run('openssl', [
    'x509',
    '-noout',
    '-fingerprint',
    '-sha256',
    '-in',
    cert,
  ]);
  const fingerprint = /=([0-9A-F:]+)/.exec(stdout)![1]!;
  return { key, cert, fingerprint };
}

export class RedfishDouble {
  readonly machine: QemuMachine;
  readonly sessions = new Map<string, { id: string; user: string }>();
  /** Every request, `METHOD path`, for the test to read. */
  readonly requests: string[] = [];
  private server!: Server;
  private readonly hw: Hardware;
  private boot = { target: 'None', enabled: 'Disabled' };
  private etag = 1;
  private media: { image: string | null; inserted: boolean } = { image: null, inserted: false };
  fingerprint = '';
  port = 0;

  private constructor(private readonly o: RedfishDoubleOptions) {
    this.hw = o.hardware ?? SAMPLE_HARDWARE;
    this.machine = new QemuMachine(o.dir);
  }

  static async start(o: RedfishDoubleOptions): Promise<RedfishDouble> {
    const d = new RedfishDouble(o);
    const c = o.certificate ?? (await makeCertificate(o.dir));
    d.fingerprint = 'fingerprint' in c ? (c as { fingerprint: string }).fingerprint : '';
    d.server = createServer(
      { key: await readFile(c.key), cert: await readFile(c.cert) },
      (req, res) => {
        d.handle(req, res).catch((e: unknown) =>
          d.error(res, 500, 'Base.1.0.InternalError', String(e)),
        );
      },
    );
    await new Promise<void>((resolve, reject) => {
      d.server.once('error', reject);
      d.server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
    });
    d.port = (d.server.address() as AddressInfo).port;
    return d;
  }

  get system(): Json {
    return this.systemBody();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.machine.dispose();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://bmc');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${path}`);
    const body = await readJson(req);
    if (body === INVALID)
      return this.error(res, 400, 'Base.1.0.MalformedJSON', 'The request body is not JSON.');

    if (path === '/redfish/v1' && method === 'GET') return this.send(res, 200, this.root());
    if (path === '/redfish/v1/SessionService/Sessions' && method === 'POST')
      return this.login(res, body as Json);
    const token = req.headers['x-auth-token'];
    const session = typeof token === 'string' ? this.sessions.get(token) : undefined;
    if (!session)
      return this.error(
        res,
        401,
        'Base.1.0.NoValidSession',
        'There is no valid session established with the implementation.',
      );

    const sys = '/redfish/v1/Systems/1';
    if (method === 'DELETE' && path.startsWith('/redfish/v1/SessionService/Sessions/')) {
      const id = path.split('/').pop();
      const entry = [...this.sessions].find(([, s]) => s.id === id);
      if (!entry)
        return this.error(res, 404, 'Base.1.0.ResourceMissingAtURI', `${path} does not exist.`);
      this.sessions.delete(entry[0]);
      return this.send(res, 204);
    }
    if (method === 'GET') {
      const resource = this.resource(path);
      if (!resource)
        return this.error(res, 404, 'Base.1.0.ResourceMissingAtURI', `${path} does not exist.`);
      return this.send(res, 200, resource, path === sys ? { ETag: `W/"${this.etag}"` } : {});
    }
    if (method === 'PATCH' && path === sys) {
      const ifMatch = req.headers['if-match'];
      if (ifMatch !== undefined && ifMatch !== `W/"${this.etag}"`) {
        return this.error(
          res,
          412,
          'Base.1.0.PreconditionFailed',
          'The ETag supplied did not match the ETag required to change this resource.',
        );
      }
      const boot = (body as Json | undefined)?.Boot as Json | undefined;
      if (!boot)
        return this.error(res, 400, 'Base.1.0.PropertyUnknown', 'Only Boot can be changed here.');
      const target = boot.BootSourceOverrideTarget;
      const enabled = boot.BootSourceOverrideEnabled;
      if (target !== undefined && !BOOT_TARGETS.includes(String(target)))
        return this.error(
          res,
          400,
          'Base.1.0.PropertyValueNotInList',
          `The value ${String(target)} for the property BootSourceOverrideTarget is not in the list of acceptable values.`,
        );
      if (enabled !== undefined && !['Disabled', 'Once', 'Continuous'].includes(String(enabled)))
        return this.error(
          res,
          400,
          'Base.1.0.PropertyValueNotInList',
          `The value ${String(enabled)} for the property BootSourceOverrideEnabled is not in the list of acceptable values.`,
        );
      if (typeof target === 'string') this.boot.target = target;
      if (typeof enabled === 'string') this.boot.enabled = enabled;
      this.etag++;
      this.applyBoot();
      return this.send(res, 204);
    }
    if (method === 'POST' && path === `${sys}/Actions/ComputerSystem.Reset`) {
      const type = (body as Json | undefined)?.ResetType;
      const allowed = this.o.resetTypes ?? RESET_TYPES;
      if (typeof type !== 'string' || !allowed.includes(type))
        return this.error(
          res,
          400,
          'Base.1.0.ActionParameterValueNotInList',
          `The value ${String(type)} for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values.`,
        );
      const starts = this.machine.starts.length;
      await this.reset(type);
      // A Once override is spent by the boot it applied to (BootSourceOverrideEnabled).
      if (this.machine.starts.length > starts && this.boot.enabled === 'Once') {
        this.boot = { target: 'None', enabled: 'Disabled' };
        this.etag++;
      }
      if (this.machine.starts.length > starts && this.boot.enabled === 'Continuous')
        this.applyBoot();
      return this.send(res, 204);
    }
    const vm = '/redfish/v1/Managers/1/VirtualMedia/CD1';
    if (method === 'POST' && path === `${vm}/Actions/VirtualMedia.InsertMedia`) {
      const image = (body as Json | undefined)?.Image;
      if (typeof image !== 'string')
        return this.error(
          res,
          400,
          'Base.1.0.ActionParameterMissing',
          'The action VirtualMedia.InsertMedia requires the parameter Image to be present in the request body.',
        );
      const file = join(this.o.dir, `media-${randomBytes(4).toString('hex')}.iso`);
      try {
        const r = await fetch(image);
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        await writeFile(file, Buffer.from(await r.arrayBuffer()));
      } catch (e) {
        return this.error(
          res,
          400,
          'Base.1.0.ActionParameterValueError',
          `The image ${image} could not be fetched: ${String(e)}.`,
        );
      }
      await this.machine.insert(file);
      this.media = { image, inserted: (body as Json).Inserted !== false };
      return this.send(res, 204);
    }
    if (method === 'POST' && path === `${vm}/Actions/VirtualMedia.EjectMedia`) {
      await this.machine.eject();
      this.media = { image: null, inserted: false };
      return this.send(res, 204);
    }
    return this.error(
      res,
      405,
      'Base.1.0.OperationNotAllowed',
      `${method} is not allowed on ${path}.`,
    );
  }

  private login(res: ServerResponse, body: Json | undefined): void {
    if (typeof body?.UserName !== 'string' || typeof body.Password !== 'string')
      return this.error(
        res,
        400,
        'Base.1.0.PropertyMissing',
        'UserName and Password are required.',
      );
    if (body.UserName !== this.o.username || body.Password !== this.o.password)
      return this.error(
        res,
        401,
        'Base.1.0.InsufficientPrivilege',
        'There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.',
      );
    const token = randomBytes(16).toString('hex');
    const id = randomBytes(6).toString('hex');
    this.sessions.set(token, { id, user: body.UserName });
    const uri = `/redfish/v1/SessionService/Sessions/${id}`;
    this.send(res, 201, this.sessionBody(id, body.UserName), {
      'X-Auth-Token': token,
      Location: uri,
    });
  }

  private async reset(type: string): Promise<void> {
    const m = this.machine;
    switch (type) {
      case 'On':
      case 'ForceOn':
        return m.powerOn();
      case 'ForceOff':
        return m.forceOff();
      case 'GracefulShutdown':
        return m.gracefulShutdown();
      case 'GracefulRestart':
      case 'ForceRestart':
        return m.on ? m.restart() : undefined;
      case 'PowerCycle':
        return m.on ? m.restart() : m.powerOn();
    }
  }

  /** A `Once` override goes to the next boot; QEMU forgets it after that boot, and so do we. */
  private applyBoot(): void {
    const t = this.boot.target;
    const device = t === 'Cd' ? 'Cd' : t === 'Pxe' ? 'Pxe' : t === 'Hdd' ? 'Hdd' : undefined;
    this.machine.nextBoot = this.boot.enabled === 'Disabled' ? undefined : device;
  }

  private resource(path: string): Json | undefined {
    const sys = '/redfish/v1/Systems/1';
    const coll = (id: string, type: string, name: string, members: string[]): Json => ({
      '@odata.id': id,
      '@odata.type': `#${type}.${type}`,
      Name: name,
      Members: members.map((m) => ({ '@odata.id': m })),
      'Members@odata.count': members.length,
    });
    const cpus = this.hw.cpus.map((_, i) => `${sys}/Processors/CPU${i + 1}`);
    const dimms = this.hw.dimmsMiB.map((_, i) => `${sys}/Memory/DIMM${i + 1}`);
    const nics = this.hw.nics.map((n) => `${sys}/EthernetInterfaces/${n.id}`);
    const drives = this.hw.drives.map((d) => `${sys}/Storage/1/Drives/${d.id}`);
    switch (path) {
      case '/redfish/v1/SessionService':
        return {
          '@odata.id': path,
          '@odata.type': '#SessionService.v1_1_9.SessionService',
          Id: 'SessionService',
          Name: 'Session Service',
          ServiceEnabled: true,
          SessionTimeout: 600,
          Sessions: { '@odata.id': `${path}/Sessions` },
        };
      case '/redfish/v1/SessionService/Sessions':
        return coll(
          path,
          'SessionCollection',
          'Sessions',
          [...this.sessions.values()].map((s) => `${path}/${s.id}`),
        );
      case '/redfish/v1/Systems':
        return coll(path, 'ComputerSystemCollection', 'Computer Systems', [sys]);
      case sys:
        return this.systemBody();
      case `${sys}/Processors`:
        return coll(path, 'ProcessorCollection', 'Processors', cpus);
      case `${sys}/Memory`:
        return coll(path, 'MemoryCollection', 'Memory', dimms);
      case `${sys}/EthernetInterfaces`:
        return coll(path, 'EthernetInterfaceCollection', 'Ethernet Interfaces', nics);
      case `${sys}/Storage`:
        return coll(path, 'StorageCollection', 'Storage', [`${sys}/Storage/1`]);
      case `${sys}/Storage/1`:
        return {
          '@odata.id': path,
          '@odata.type': '#Storage.v1_21_0.Storage',
          Id: '1',
          Name: 'Storage controller',
          Drives: drives.map((d) => ({ '@odata.id': d })),
          'Drives@odata.count': drives.length,
        };
      case '/redfish/v1/Managers':
        return coll(path, 'ManagerCollection', 'Managers', ['/redfish/v1/Managers/1']);
      case '/redfish/v1/Managers/1':
        return {
          '@odata.id': path,
          '@odata.type': '#Manager.v1_19_0.Manager',
          Id: '1',
          Name: 'BMC',
          ManagerType: 'BMC',
          VirtualMedia: { '@odata.id': `${path}/VirtualMedia` },
          Links: { ManagerForServers: [{ '@odata.id': sys }] },
        };
      case '/redfish/v1/Managers/1/VirtualMedia':
        return coll(path, 'VirtualMediaCollection', 'Virtual Media', [
          '/redfish/v1/Managers/1/VirtualMedia/Floppy1',
          '/redfish/v1/Managers/1/VirtualMedia/CD1',
        ]);
      case '/redfish/v1/Managers/1/VirtualMedia/Floppy1':
        return {
          '@odata.id': path,
          '@odata.type': '#VirtualMedia.v1_6_5.VirtualMedia',
          Id: 'Floppy1',
          Name: 'Virtual floppy',
          MediaTypes: ['Floppy', 'USBStick'],
          Inserted: false,
          Image: null,
        };
      case '/redfish/v1/Managers/1/VirtualMedia/CD1':
        return {
          '@odata.id': path,
          '@odata.type': '#VirtualMedia.v1_6_5.VirtualMedia',
          Id: 'CD1',
          Name: 'Virtual CD',
          MediaTypes: ['CD', 'DVD'],
          ConnectedVia: this.media.inserted ? 'URI' : 'NotConnected',
          Image: this.media.image,
          Inserted: this.media.inserted,
          WriteProtected: true,
          Actions: {
            '#VirtualMedia.InsertMedia': { target: `${path}/Actions/VirtualMedia.InsertMedia` },
            '#VirtualMedia.EjectMedia': { target: `${path}/Actions/VirtualMedia.EjectMedia` },
          },
        };
    }
    const m =
      /^\/redfish\/v1\/Systems\/1\/(Processors|Memory|EthernetInterfaces|Storage\/1\/Drives)\/([^/]+)$/.exec(
        path,
      );
    if (!m) return undefined;
    const [, kind, id] = m;
    if (kind === 'Processors') {
      const i = Number(id!.replace('CPU', '')) - 1;
      const c = this.hw.cpus[i];
      return (
        c && {
          '@odata.id': path,
          '@odata.type': '#Processor.v1_22_0.Processor',
          Id: id,
          Name: `Processor ${i + 1}`,
          Socket: `CPU ${i + 1}`,
          ProcessorType: 'CPU',
          Model: c.model,
          TotalCores: c.cores,
          TotalThreads: c.threads,
          Status: { State: 'Enabled', Health: 'OK' },
        }
      );
    }
    if (kind === 'Memory') {
      const i = Number(id!.replace('DIMM', '')) - 1;
      const size = this.hw.dimmsMiB[i];
      return size === undefined
        ? undefined
        : {
            '@odata.id': path,
            '@odata.type': '#Memory.v1_23_0.Memory',
            Id: id,
            Name: `DIMM ${i + 1}`,
            MemoryType: 'DRAM',
            CapacityMiB: size,
            Status: { State: 'Enabled', Health: 'OK' },
          };
    }
    if (kind === 'EthernetInterfaces') {
      const n = this.hw.nics.find((x) => x.id === id);
      return (
        n && {
          '@odata.id': path,
          '@odata.type': '#EthernetInterface.v1_12_4.EthernetInterface',
          Id: n.id,
          Name: `Ethernet ${n.id}`,
          MACAddress: n.mac,
          PermanentMACAddress: n.mac,
          SpeedMbps: n.speedMbps,
          LinkStatus: 'LinkUp',
          InterfaceEnabled: true,
        }
      );
    }
    const d = this.hw.drives.find((x) => x.id === id);
    return (
      d && {
        '@odata.id': path,
        '@odata.type': '#Drive.v1_22_0.Drive',
        Id: d.id,
        Name: d.id,
        CapacityBytes: d.capacityBytes,
        MediaType: d.mediaType,
        Protocol: d.protocol,
        Status: { State: 'Enabled', Health: 'OK' },
      }
    );
  }

  private systemBody(): Json {
    const sys = '/redfish/v1/Systems/1';
    return {
      '@odata.id': sys,
      '@odata.type': '#ComputerSystem.v1_27_0.ComputerSystem',
      '@odata.etag': `W/"${this.etag}"`,
      Id: '1',
      Name: 'System',
      SystemType: 'Physical',
      Manufacturer: this.hw.manufacturer,
      Model: this.hw.model,
      SerialNumber: this.hw.serialNumber,
      PowerState: this.machine.on ? 'On' : 'Off',
      Boot: {
        BootSourceOverrideTarget: this.boot.target,
        'BootSourceOverrideTarget@Redfish.AllowableValues': BOOT_TARGETS,
        BootSourceOverrideEnabled: this.boot.enabled,
      },
      ProcessorSummary: { Count: this.hw.cpus.length, Model: this.hw.cpus[0]?.model },
      MemorySummary: { TotalSystemMemoryGiB: this.hw.dimmsMiB.reduce((a, b) => a + b, 0) / 1024 },
      Processors: { '@odata.id': `${sys}/Processors` },
      Memory: { '@odata.id': `${sys}/Memory` },
      EthernetInterfaces: { '@odata.id': `${sys}/EthernetInterfaces` },
      Storage: { '@odata.id': `${sys}/Storage` },
      Links: { ManagedBy: [{ '@odata.id': '/redfish/v1/Managers/1' }] },
      Actions: {
        '#ComputerSystem.Reset': {
          target: `${sys}/Actions/ComputerSystem.Reset`,
          'ResetType@Redfish.AllowableValues': this.o.resetTypes ?? RESET_TYPES,
        },
      },
    };
  }

  private root(): Json {
    return {
      '@odata.id': '/redfish/v1',
      '@odata.type': '#ServiceRoot.v1_17_0.ServiceRoot',
      Id: 'RootService',
      Name: 'Root Service',
      RedfishVersion: '1.20.0',
      Systems: { '@odata.id': '/redfish/v1/Systems' },
      Managers: { '@odata.id': '/redfish/v1/Managers' },
      SessionService: { '@odata.id': '/redfish/v1/SessionService' },
      Links: { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } },
    };
  }

  private sessionBody(id: string, user: string): Json {
    return {
      '@odata.id': `/redfish/v1/SessionService/Sessions/${id}`,
      '@odata.type': '#Session.v1_8_0.Session',
      Id: id,
      Name: 'User Session',
      UserName: user,
    };
  }

  private send(
    res: ServerResponse,
    status: number,
    body?: Json,
    headers: Record<string, string> = {},
  ): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      'OData-Version': '4.0',
      ...headers,
    });
    res.end(text);
  }

  private error(res: ServerResponse, status: number, id: string, message: string): void {
    this.send(res, status, {
      error: {
        code: id,
        message,
        '@Message.ExtendedInfo': [
          {
            '@odata.type': '#Message.v1_1_2.Message',
            MessageId: id,
            Message: message,
            Severity: 'Warning',
          },
        ],
      },
    });
  }
}

const INVALID = Symbol('invalid');
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return INVALID;
  }
}
