/**
 * A Redfish client (DMTF DSP0266 / the Redfish schema; rows `redfish.*` in
 * docs/upstream-facts.md, read from DMTF/Redfish-Publications 2025.4): a session
 * (SessionService, `X-Auth-Token`, deleted on close), the first ComputerSystem, power through
 * `ComputerSystem.Reset`, a one-time boot through `Boot`, a CD through VirtualMedia, and the
 * hardware inventory.
 *
 * Every TLS connection is checked against the pinned certificates (certificates.ts) before
 * a byte of a request is written: the password goes only to the BMC the consultant pinned.
 */
import { Agent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { isIP } from 'node:net';
import { UstartError, isUstartError, messageOf } from '../errors.js';
import type { BmcCertificates } from './certificates.js';
import type { BmcLogin } from './credentials.js';
import type { BmcInventory, InventoryBmc } from './inventory.js';
import type { BootDevice, PowerAction, PowerState } from './types.js';

type Json = Record<string, unknown>;

export interface RedfishOptions {
  address: string;
  /** 443 when absent. */
  port?: number;
  login: BmcLogin;
  certificates: BmcCertificates;
  /** Per request; 30 s when absent. */
  timeoutMs?: number;
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Json | undefined;
}

/** An https Agent whose every connection checks the BMC's pinned certificate first. */
class PinnedAgent extends Agent {
  constructor(
    private readonly certificates: BmcCertificates,
    private readonly address: string,
    private readonly port: number,
  ) {
    // Few sockets: BMCs allow few concurrent connections and sessions.
    super({ keepAlive: true, maxSockets: 4 });
  }

  override createConnection(
    options: { host?: string | null; port?: number | null },
    callback?: (err: Error | null, socket: Duplex) => void,
  ): Duplex | undefined {
    const host = options.host ?? this.address;
    const socket: TLSSocket = tlsConnect({
      host,
      port: options.port ?? this.port,
      // BMC certificates are self-signed: trust comes from the pin below, not a CA.
      rejectUnauthorized: false,
      ...(isIP(host) ? {} : { servername: host }),
    });
    let settled = false;
    const fail = (err: Error) => {
      socket.destroy();
      if (settled) return;
      settled = true;
      callback?.(err, socket);
    };
    // Listening until the pin is checked: a reset while the pin file is read is this
    // request's error, not an uncaught one.
    socket.on('error', fail);
    socket.once('secureConnect', () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      if (!fp) return fail(new Error('the BMC presented no TLS certificate'));
      this.certificates.verify(this.address, this.port, fp).then(
        () => {
          socket.off('error', fail);
          if (settled || socket.destroyed) return;
          settled = true;
          callback?.(null, socket);
        },
        (e: unknown) => fail(e as Error),
      );
    });
    return undefined;
  }
}

/** The CD-capable virtual media resource, found once. */
interface Media {
  uri: string;
  insertTarget?: string;
  ejectTarget?: string;
}

export class RedfishBmc implements InventoryBmc {
  readonly address: string;
  private readonly port: number;
  private readonly agent: PinnedAgent;
  private token: string | undefined;
  /** The login in flight after the BMC ended the session, shared by every request. */
  private relogin: Promise<void> | undefined;
  private sessionUri: string | undefined;
  private systemUri: string | undefined;
  private media: Media | undefined;

  private constructor(private readonly o: RedfishOptions) {
    this.address = o.address;
    this.port = o.port ?? 443;
    this.agent = new PinnedAgent(o.certificates, o.address, this.port);
  }

  /** Opens a session and finds the system; the caller must `close()` it. */
  static async connect(o: RedfishOptions): Promise<RedfishBmc> {
    const bmc = new RedfishBmc(o);
    try {
      await bmc.login();
      bmc.systemUri = await bmc.findSystem();
    } catch (e) {
      await bmc.close();
      throw e;
    }
    return bmc;
  }

  private get name(): string {
    return this.port === 443 ? this.address : `${this.address}:${this.port}`;
  }

  /** docs/upstream-facts.md#redfish.session-create, #redfish.service-root-sessions */
  private async login(): Promise<void> {
    const root = await this.get('/redfish/v1/', false);
    const sessions = link(obj(root.Links)?.Sessions) ?? '/redfish/v1/SessionService/Sessions';
    const r = await this.send('POST', sessions, {
      body: { UserName: this.o.login.username, Password: this.o.login.password },
      auth: false,
    });
    const token = header(r, 'x-auth-token');
    if (!token) {
      throw this.failed(
        `POST ${sessions} created no session (no X-Auth-Token in the answer); the BMC's Redfish service is not usable by uStart.`,
      );
    }
    this.token = token;
    const location = header(r, 'location') ?? link(r.body);
    this.sessionUri = location ? new URL(location, 'https://bmc').pathname : undefined;
  }

  private async findSystem(): Promise<string> {
    const members = await this.members('/redfish/v1/Systems');
    if (members.length === 0) throw this.failed('its Systems collection is empty.');
    // A server's BMC manages one system; a chassis manager with several would need a choice.
    return members[0]!;
  }

  private async system(): Promise<{ body: Json; etag?: string }> {
    const r = await this.send('GET', this.systemUri!);
    return {
      body: r.body ?? {},
      ...(header(r, 'etag') ? { etag: header(r, 'etag')! } : {}),
    };
  }

  async powerState(): Promise<PowerState> {
    const { body } = await this.system();
    const state = body.PowerState;
    // PoweringOn counts as On, PoweringOff and Paused as Off: what the next action must assume.
    if (state === 'On' || state === 'PoweringOn') return 'On';
    if (state === 'Off' || state === 'PoweringOff' || state === 'Paused') return 'Off';
    throw this.failed(`its system reports no PowerState (${JSON.stringify(state)}).`);
  }

  async power(action: PowerAction): Promise<void> {
    const { body } = await this.system();
    const reset = obj(obj(body.Actions)?.['#ComputerSystem.Reset']);
    const target = reset && typeof reset.target === 'string' ? reset.target : undefined;
    if (!target) throw this.unsupported('its system has no ComputerSystem.Reset action');
    const allowed = await this.allowable(reset!, 'ResetType');
    let type: string = action;
    if (allowed && !allowed.includes(type)) {
      // Equivalents the schema offers: ForceOn powers on as On does; a power cycle of a
      // system without PowerCycle is a ForceRestart (docs/upstream-facts.md#redfish.reset-type).
      const alt: Partial<Record<PowerAction, string>> = {
        On: 'ForceOn',
        PowerCycle: 'ForceRestart',
      };
      const other = alt[action];
      if (other && allowed.includes(other)) type = other;
      else
        throw this.unsupported(
          `its ComputerSystem.Reset does not allow ${action} (allowed: ${allowed.join(', ')})`,
        );
    }
    await this.send('POST', target, { body: { ResetType: type } });
  }

  /** docs/upstream-facts.md#redfish.boot-once */
  async setOneTimeBoot(device: BootDevice): Promise<void> {
    const { body, etag } = await this.system();
    const boot = obj(body.Boot);
    if (!boot) throw this.unsupported('its system has no Boot property');
    const allowed = boot['BootSourceOverrideTarget@Redfish.AllowableValues'];
    if (Array.isArray(allowed) && !allowed.includes(device)) {
      throw this.unsupported(
        `it cannot boot once from ${device} (BootSourceOverrideTarget allows ${allowed.join(', ')})`,
      );
    }
    await this.send('PATCH', this.systemUri!, {
      body: { Boot: { BootSourceOverrideTarget: device, BootSourceOverrideEnabled: 'Once' } },
      ...(etag ? { ifMatch: etag } : {}),
    });
  }

  async insertMedia(imageUrl: string): Promise<void> {
    const m = await this.cd();
    try {
      if (m.insertTarget) {
        await this.send('POST', m.insertTarget, {
          body: { Image: imageUrl, Inserted: true, WriteProtected: true },
        });
      } else {
        await this.send('PATCH', m.uri, { body: { Image: imageUrl, Inserted: true } });
      }
    } catch (e) {
      // A BMC's error text may quote the image's URL, whose path holds the run's token.
      if (!(e instanceof UstartError) || !e.message.includes(imageUrl)) throw e;
      const shown = `${new URL(imageUrl).origin}/…`;
      throw new UstartError(e.code, e.message.replaceAll(imageUrl, shown), {
        cause: e.cause,
        ...(e.detail ? { detail: e.detail } : {}),
      });
    }
  }

  async ejectMedia(): Promise<void> {
    const m = await this.cd();
    const state = (await this.send('GET', m.uri)).body ?? {};
    if (state.Inserted === false || (state.Inserted === undefined && !state.Image)) return;
    if (m.ejectTarget) await this.send('POST', m.ejectTarget, { body: {} });
    else await this.send('PATCH', m.uri, { body: { Image: null, Inserted: false } });
  }

  /**
   * The CD (or DVD) virtual media: the system's own (ComputerSystem v1.13), else its managers'
   * (docs/upstream-facts.md#redfish.virtual-media).
   */
  private async cd(): Promise<Media> {
    if (this.media) return this.media;
    const { body } = await this.system();
    const collections: string[] = [];
    const own = link(body.VirtualMedia);
    if (own) collections.push(own);
    for (const ref of arr(obj(body.Links)?.ManagedBy)) {
      const uri = link(ref);
      if (!uri) continue;
      const manager = (await this.send('GET', uri)).body ?? {};
      const vm = link(manager.VirtualMedia);
      if (vm) collections.push(vm);
    }
    for (const c of collections) {
      for (const uri of await this.members(c)) {
        const vm = (await this.send('GET', uri)).body ?? {};
        const types = arr(vm.MediaTypes);
        if (!types.includes('CD') && !types.includes('DVD')) continue;
        const actions = obj(vm.Actions);
        const insert = obj(actions?.['#VirtualMedia.InsertMedia'])?.target;
        const eject = obj(actions?.['#VirtualMedia.EjectMedia'])?.target;
        this.media = {
          uri,
          ...(typeof insert === 'string' ? { insertTarget: insert } : {}),
          ...(typeof eject === 'string' ? { ejectTarget: eject } : {}),
        };
        return this.media;
      }
    }
    throw this.unsupported(
      'it offers no CD or DVD virtual media (VirtualMedia with MediaTypes CD)',
    );
  }

  /** docs/upstream-facts.md#redfish.inventory */
  async inventory(): Promise<BmcInventory> {
    const { body } = await this.system();
    const [processors, memory, nics, drives] = await Promise.all([
      this.expand(link(body.Processors)),
      this.expand(link(body.Memory)),
      this.expand(link(body.EthernetInterfaces)),
      this.drives(link(body.Storage)),
    ]);
    const summaryGiB = obj(body.MemorySummary)?.TotalSystemMemoryGiB;
    const dimmMiB = memory.reduce((s, m) => s + (num(m.CapacityMiB) ?? 0), 0);
    const memoryGiB =
      typeof summaryGiB === 'number' && summaryGiB > 0 ? summaryGiB : dimmMiB / 1024;
    return {
      address: this.address,
      ...(str(body.Manufacturer) ? { manufacturer: str(body.Manufacturer)! } : {}),
      ...(str(body.Model) ? { model: str(body.Model)! } : {}),
      ...(str(body.SerialNumber) ? { serialNumber: str(body.SerialNumber)! } : {}),
      processors: processors
        .filter((p) => p.ProcessorType === undefined || p.ProcessorType === 'CPU')
        .filter((p) => obj(p.Status)?.State !== 'Absent')
        .map((p) => ({
          id: str(p.Id) ?? '',
          ...(str(p.Socket) ? { socket: str(p.Socket)! } : {}),
          ...(str(p.Model) ? { model: str(p.Model)! } : {}),
          ...(num(p.TotalCores) ? { cores: num(p.TotalCores)! } : {}),
          ...(num(p.TotalThreads) ? { threads: num(p.TotalThreads)! } : {}),
        })),
      ...(memoryGiB > 0 ? { memoryGiB } : {}),
      nics: nics
        .filter((n) => str(n.MACAddress) ?? str(n.PermanentMACAddress))
        .map((n) => ({
          id: str(n.Id) ?? '',
          ...(str(n.Name) ? { name: str(n.Name)! } : {}),
          mac: (str(n.PermanentMACAddress) ?? str(n.MACAddress))!.toLowerCase(),
          ...(num(n.SpeedMbps) ? { speedMbps: num(n.SpeedMbps)! } : {}),
        })),
      drives: drives
        .filter((d) => num(d.CapacityBytes))
        .map((d) => ({
          id: str(d.Id) ?? '',
          ...(str(d.Name) ? { name: str(d.Name)! } : {}),
          capacityBytes: num(d.CapacityBytes)!,
          ...(str(d.MediaType) ? { mediaType: str(d.MediaType)! } : {}),
          ...(str(d.Protocol) ? { protocol: str(d.Protocol)! } : {}),
        })),
    };
  }

  private async drives(storage: string | undefined): Promise<Json[]> {
    const subsystems = await this.expand(storage);
    const uris = subsystems.flatMap((s) => arr(s.Drives).map(link)).filter(isString);
    return Promise.all(uris.map(async (u) => (await this.send('GET', u)).body ?? {}));
  }

  /** Every member of a collection, fetched. */
  private async expand(uri: string | undefined): Promise<Json[]> {
    if (!uri) return [];
    const members = await this.members(uri);
    return Promise.all(members.map(async (u) => (await this.send('GET', u)).body ?? {}));
  }

  /** The member URIs of a collection, following `Members@odata.nextLink` pages (docs/upstream-facts.md#redfish.collection-nextlink). */
  private async members(uri: string): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = uri;
    for (let page = 0; next && page < 100; page++) {
      const body: Json = (await this.send('GET', next)).body ?? {};
      out.push(...arr(body.Members).map(link).filter(isString));
      next = str(body['Members@odata.nextLink']);
    }
    return out;
  }

  /** An action parameter's allowed values: the annotation, else the action's ActionInfo. */
  private async allowable(action: Json, parameter: string): Promise<string[] | undefined> {
    const annotated = action[`${parameter}@Redfish.AllowableValues`];
    if (Array.isArray(annotated)) return annotated.filter(isString);
    const info = str(action['@Redfish.ActionInfo']);
    if (!info) return undefined;
    const body = (await this.send('GET', info)).body ?? {};
    const p = arr(body.Parameters)
      .map(obj)
      .find((x) => x?.Name === parameter);
    const values = p?.AllowableValues;
    return Array.isArray(values) ? values.filter(isString) : undefined;
  }

  private get(uri: string, auth = true): Promise<Json> {
    return this.send('GET', uri, { auth }).then((r) => r.body ?? {});
  }

  private async send(
    method: string,
    uri: string,
    o: { body?: unknown; auth?: boolean; ifMatch?: string; retried?: boolean } = {},
  ): Promise<Response> {
    const auth = o.auth ?? true;
    if (auth && this.relogin) await this.relogin;
    const used = auth ? this.token : undefined;
    const r = await this.raw(method, uri, o.body, used, o.ifMatch);
    // A session the BMC timed out: log in again, once for all the requests in flight (the
    // inventory sends several at once; each login would hold one of the BMC's few sessions).
    if (r.status === 401 && auth && !o.retried && used) {
      if (this.token === used)
        this.relogin ??= this.login().finally(() => (this.relogin = undefined));
      await this.relogin;
      return this.send(method, uri, { ...o, retried: true });
    }
    if (r.status >= 200 && r.status < 300) return r;
    const what = `${method} ${uri}`;
    const why = redfishMessage(r.body);
    if (r.status === 401 && !auth) {
      throw new UstartError(
        'AuthFailed',
        `the BMC ${this.name} refused the login of ${this.o.login.username} (${what}: 401${why ? `, ${why}` : ''}). Check the BMC user and password.`,
        { detail: { address: this.address } },
      );
    }
    throw this.failed(`${what} answered ${r.status}${why ? `: ${why}` : ''}.`);
  }

  private raw(
    method: string,
    uri: string,
    body: unknown,
    token: string | undefined,
    ifMatch: string | undefined,
  ): Promise<Response> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: this.address,
          port: this.port,
          method,
          path: uri,
          agent: this.agent,
          timeout: this.o.timeoutMs ?? 30_000,
          headers: {
            Accept: 'application/json',
            'OData-Version': '4.0',
            ...(payload
              ? { 'Content-Type': 'application/json', 'Content-Length': payload.length }
              : {}),
            ...(token ? { 'X-Auth-Token': token } : {}),
            ...(ifMatch ? { 'If-Match': ifMatch } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Json | undefined;
            try {
              parsed = text ? (JSON.parse(text) as Json) : undefined;
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`no answer within ${(this.o.timeoutMs ?? 30_000) / 1000} s`)),
      );
      req.on('error', (e) => {
        if (isUstartError(e)) return reject(e);
        reject(
          new UstartError(
            'BmcFailed',
            `the BMC ${this.name} does not answer (${method} ${uri}: ${messageOf(e)}). Check its address, that its Redfish service is on, and that this machine reaches the BMC network.`,
            { cause: e, detail: { address: this.address, unreachable: true } },
          ),
        );
      });
      req.end(payload);
    });
  }

  /** Deletes the session (a BMC has few) and closes the connections; safe to call twice. */
  async close(): Promise<void> {
    const uri = this.sessionUri;
    this.sessionUri = undefined;
    if (uri && this.token) {
      await this.raw('DELETE', uri, undefined, this.token, undefined).catch(() => undefined);
    }
    this.token = undefined;
    this.agent.destroy();
  }

  private failed(what: string): UstartError {
    return new UstartError('BmcFailed', `the BMC ${this.name}: ${what}`, {
      detail: { address: this.address },
    });
  }

  private unsupported(what: string): UstartError {
    return new UstartError('BmcUnsupported', `the BMC ${this.name} cannot do this: ${what}.`, {
      detail: { address: this.address },
    });
  }
}

/** The message of a Redfish error body (`error.@Message.ExtendedInfo[].Message`, else `error.message`). */
function redfishMessage(body: Json | undefined): string | undefined {
  const error = obj(body?.error);
  if (!error) return undefined;
  const infos = arr(error['@Message.ExtendedInfo'])
    .map((i) => str(obj(i)?.Message))
    .filter(isString);
  return infos.length ? infos.join(' ') : str(error.message);
}

function header(r: Response, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
function obj(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function isString(v: unknown): v is string {
  return typeof v === 'string';
}
function link(v: unknown): string | undefined {
  return str(obj(v)?.['@odata.id']);
}
