/**
 * The laptop's HTTP server for one OS-install run: it serves each server's ISO to its BMC
 * (Redfish VirtualMedia fetches the image by URL) and takes the host-key reports of the
 * installers' late commands. Every path starts with a random run token, so nothing is served
 * to a client that did not get a URL from this run; each server's report path has its own
 * token as well, so one installer cannot report for another. Nothing is logged: URLs carry
 * the tokens.
 *
 * ISOs are served with `Accept-Ranges: bytes` and single-range `Range` requests (RFC 9110
 * §14), which BMCs use to read a CD image block by block
 * (docs/upstream-facts.md#redfish-virtualmedia-http).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReportedHostKey {
  /** `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa` */
  type: string;
  /** base64 key blob, as in a `.pub` file */
  key: string;
}

export interface InstallServerOptions {
  /** Address to listen on (default all). */
  listen?: string;
  /** Port (default 0: any free one). */
  port?: number;
  /** Address the BMCs and installers reach this machine at, for the URLs. */
  advertise: string;
}

const KEY_TYPES = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa)$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

export class InstallServer {
  readonly runToken = randomBytes(24).toString('base64url');
  private readonly isos = new Map<string, string>(); // name → file
  private readonly reportTokens = new Map<string, string>(); // token → hostname
  private readonly keys = new Map<string, ReportedHostKey[]>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private server: Server | undefined;
  private base = '';

  constructor(private readonly opts: InstallServerOptions) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.listen ?? '0.0.0.0', () => resolve());
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    const host = this.opts.advertise.includes(':')
      ? `[${this.opts.advertise}]`
      : this.opts.advertise;
    this.base = `http://${host}:${port}/${this.runToken}`;
  }

  /** `http://ADVERTISE:PORT/<run token>`: the prefix of every URL of this run. */
  get baseUrl(): string {
    if (!this.base) throw new Error('InstallServer not started');
    return this.base;
  }

  /** Serves `file` as `<base>/iso/<name>`; returns the URL. */
  addIso(name: string, file: string): string {
    if (!/^[A-Za-z0-9._-]+\.iso$/.test(name)) throw new Error(`ISO name ${name}`);
    this.isos.set(name, file);
    return `${this.baseUrl}/iso/${name}`;
  }

  /** A new report token for `hostname`; the installer reports to `<base>/hostkey/<token>`. */
  reportTokenFor(hostname: string): string {
    const token = randomBytes(18).toString('base64url');
    this.reportTokens.set(token, hostname);
    return token;
  }

  /** The host keys `hostname`'s installer reported so far. */
  reported(hostname: string): ReportedHostKey[] {
    return [...(this.keys.get(hostname) ?? [])];
  }

  /** Resolves with the reported keys once `hostname` reported one of `type` (or any when absent). */
  waitForHostKey(hostname: string, signal: AbortSignal, type?: string): Promise<ReportedHostKey[]> {
    return new Promise((resolve, reject) => {
      const done = () => this.reported(hostname).some((k) => type === undefined || k.type === type);
      if (done()) return resolve(this.reported(hostname));
      const set = this.waiters.get(hostname) ?? new Set();
      this.waiters.set(hostname, set);
      const onAbort = () => {
        set.delete(check);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const check = () => {
        if (!done()) return;
        set.delete(check);
        signal.removeEventListener('abort', onAbort);
        resolve(this.reported(hostname));
      };
      set.add(check);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== this.runToken || parts.length !== 3) return notFound(res);
    if (parts[1] === 'iso' && (req.method === 'GET' || req.method === 'HEAD')) {
      const file = this.isos.get(parts[2]!);
      if (!file) return notFound(res);
      return serveFile(req, res, file);
    }
    if (parts[1] === 'hostkey' && req.method === 'GET') {
      const host = this.reportTokens.get(parts[2]!);
      const type = url.searchParams.get('type') ?? '';
      const key = url.searchParams.get('key') ?? '';
      if (!host) return notFound(res);
      if (!KEY_TYPES.test(type) || !B64.test(key) || key.length > 2048) {
        res.writeHead(400).end();
        return;
      }
      const list = this.keys.get(host) ?? [];
      if (!list.some((k) => k.type === type && k.key === key)) list.push({ type, key });
      this.keys.set(host, list);
      for (const w of [...(this.waiters.get(host) ?? [])]) w();
      res.writeHead(204).end();
      return;
    }
    notFound(res);
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}

async function serveFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  const size = (await stat(file)).size;
  const headers = {
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
  };
  const range = req.headers.range;
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range !== undefined) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (m[1] === '' && m[2] === '')) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return;
    }
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]));
    } else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start > end || start >= size) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return;
    }
    status = 206;
  }
  res.writeHead(status, {
    ...headers,
    'content-length': String(end - start + 1),
    ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
