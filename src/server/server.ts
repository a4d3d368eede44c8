/**
 * Browser mode: the built renderer over HTTP and the api over one WebSocket.
 *
 * Who may talk to it: only a page that knows the random token (given in the URL, then kept
 * in an HttpOnly cookie for this port), whose Origin is the origin it was served from, and
 * whose Host is this server (so a DNS-rebinding page cannot pose as it). Every request frame
 * is parsed with the contract before it reaches the core.
 *
 * Anyone who reaches the port can send anything, so nothing a client sends may throw out of
 * a handler or leave a socket without an `error` listener (either ends `ustart serve`), and
 * what a client may make it hold is bounded (ServerLimits). Refusals say what was wrong,
 * never what failed inside.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  STATUS_CODES,
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  API_SOCKET_PATH,
  ClientFrame,
  EVENT_NAMES,
  MAX_BYTES_IN_FLIGHT,
  MAX_FRAME_BYTES,
  MAX_REQUESTS_IN_FLIGHT,
  dispatch,
  fail,
  type ServerFrame,
} from '../api/index.js';
import { contentTypeFor, rendererCsp } from '../api/renderer-page.js';
import type { Core } from '../app/index.js';
import { UstartError, messageOf } from '../errors.js';

export interface ServerOptions {
  core: Core;
  /** Folder with the built renderer (index.html and assets/). */
  rendererDir: string;
  /** Address to bind; 127.0.0.1 unless the user exposes it on purpose. */
  host?: string;
  /** Port; 0 picks a free one. */
  port?: number;
  /** The access token; random when absent (tests may fix one). */
  token?: string;
  /** Bounds on what clients may hold (tests lower them); SERVER_LIMITS otherwise. */
  limits?: Partial<ServerLimits>;
  /** Where faults of the server itself are told (the terminal running `ustart serve`). */
  log?: (line: string) => void;
}

/**
 * What clients may make the server hold. A request holds memory from its frame until its
 * answer is sent (10,000 `plan:open` at once on one socket took the heap from 18 to 671 MB
 * before these bounds; docs/ui.md), so requests and their bytes in flight are bounded per
 * socket and per server; past a bound the request is answered `Busy` at once. Counts are
 * given back when the answer is sent, not when the socket closes: a client cannot escape
 * the bound by reconnecting while its requests still run.
 */
export interface ServerLimits {
  socketRequests: number;
  socketBytes: number;
  serverRequests: number;
  serverBytes: number;
  /** Answers and events queued to a socket that does not read them; past it, it is dropped. */
  socketBacklog: number;
}

export const SERVER_LIMITS: Readonly<ServerLimits> = {
  socketRequests: MAX_REQUESTS_IN_FLIGHT,
  socketBytes: MAX_BYTES_IN_FLIGHT,
  serverRequests: 4 * MAX_REQUESTS_IN_FLIGHT,
  serverBytes: 2 * MAX_BYTES_IN_FLIGHT,
  socketBacklog: 4 * MAX_FRAME_BYTES,
};

export interface RunningServer {
  /** The URL to open, with the token. */
  url: string;
  /** The origin pages are served from (no token). */
  origin: string;
  port: number;
  token: string;
  /** Stops serving; requests already in the core finish first (at most CLOSE_WAIT_MS). */
  close(): Promise<void>;
}

/** How long `close` waits for requests already in the core. */
export const CLOSE_WAIT_MS = 10_000;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function sameSecret(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

const csp = (wsOrigin: string): string => rendererCsp([wsOrigin]);

/**
 * A Host header as browsers send it: a DNS name, an IPv4 address or a bracketed IPv6
 * address, and an optional port. Anything else (`a b`, `user@host`, a bare IPv6) is malformed.
 */
const HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

type HostCheck = { served: string } | { status: 400 | 421 };

/** A status line and nothing from inside the server, for a request that gets no further. */
function plainAnswer(status: number, text: string): string {
  const body = Buffer.from(text);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
    `Cache-Control: no-store\r\nConnection: close\r\n\r\n${text}`
  );
}

const MALFORMED_HOST = 'The Host header of this request is malformed.\n';
const WRONG_HOST = 'This uStart server does not serve that host name.\n';

/** The byte length of a received frame (ws gives a Buffer, or its parts when fragmented). */
function frameSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, part) => n + part.length, 0);
  return data.byteLength;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(24).toString('base64url');
  const root = normalize(options.rendererDir);
  const limits: ServerLimits = { ...SERVER_LIMITS, ...options.limits };
  const log = options.log ?? (() => undefined);
  let port = options.port ?? 0;
  const cookieName = () => `ustart-${port}`;

  /**
   * The Host header must name this server: loopback names when bound to loopback. Nothing
   * here may throw: it runs before the token is checked, for anyone who reaches the port.
   */
  const hostAllowed = (req: IncomingMessage): HostCheck => {
    const hostHeader = req.headers.host;
    if (!hostHeader) return { status: 421 };
    if (!HOST_HEADER.test(hostHeader)) return { status: 400 };
    let url: URL;
    try {
      url = new URL(`http://${hostHeader}`);
    } catch {
      return { status: 400 };
    }
    if (Number(url.port || 80) !== port) return { status: 421 };
    const loopbackOnly = LOOPBACK.has(host);
    if (loopbackOnly && !LOOPBACK.has(url.hostname)) return { status: 421 };
    return { served: url.host };
  };
  /** The request target in origin form (`/path?query`); undefined when it is not one. */
  const target = (req: IncomingMessage, served: string): URL | undefined => {
    const path = req.url ?? '/';
    if (!path.startsWith('/')) return undefined;
    try {
      return new URL(`http://${served}${path}`);
    } catch {
      return undefined;
    }
  };
  const authorised = (req: IncomingMessage, url: URL) =>
    sameSecret(url.searchParams.get('token') ?? undefined, token) ||
    sameSecret(cookieValue(req, cookieName()), token);

  const deny = (res: ServerResponse, status: number, text: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(text);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const checked = hostAllowed(req);
    if ('status' in checked) {
      return deny(res, checked.status, checked.status === 400 ? MALFORMED_HOST : WRONG_HOST);
    }
    const { served } = checked;
    if (req.method !== 'GET' && req.method !== 'HEAD') return deny(res, 405, 'Only GET.\n');
    const url = target(req, served);
    if (!url) return deny(res, 400, 'The request target is malformed.\n');
    if (!authorised(req, url)) {
      return deny(res, 403, 'Open the full URL that `ustart serve` printed, with its ?token=…\n');
    }
    let rel: string;
    try {
      rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    } catch {
      return deny(res, 400, 'The path of this request is not valid %-encoding.\n');
    }
    if (rel.includes('\0')) return deny(res, 400, 'The path of this request holds a NUL.\n');
    const headers: Record<string, string> = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'content-security-policy': csp(`ws://${served}`),
    };
    if (url.searchParams.has('token')) {
      headers['set-cookie'] = `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    }
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep)) return deny(res, 404, 'Not found.\n');
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return deny(res, 404, 'Not found.\n');
    }
    if (extname(file) === '.html') {
      // The page's own CSP meta names no socket; this server adds its own origin.
      body = Buffer.from(
        body.toString('utf8').replace("connect-src 'self'", `connect-src 'self' ws://${served}`),
      );
      headers['cache-control'] = 'no-store';
    }
    headers['content-type'] = contentTypeFor(file);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const http = createHttpServer((req, res) => {
    // A client that goes away mid-request is not a fault of the server.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    serve(req, res).catch((e: unknown) => {
      log(`uStart server: answering ${req.method ?? '?'} failed: ${messageOf(e)}\n`);
      // The client learns that it failed, never why: the text may name files or internals.
      deny(res, 500, 'uStart server error; the terminal running `ustart serve` says more.\n');
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  wss.on('error', (e) => log(`uStart server: api socket: ${messageOf(e)}\n`));
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const checked = hostAllowed(req);
    if ('status' in checked) {
      const text = checked.status === 400 ? MALFORMED_HOST : WRONG_HOST;
      socket.end(plainAnswer(checked.status, text));
      return;
    }
    const url = target(req, checked.served);
    const originOk = req.headers.origin === `http://${checked.served}`;
    if (!url || !originOk || url.pathname !== API_SOCKET_PATH || !authorised(req, url)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node's HTTP server stops watching a socket once it is handed to 'upgrade': without a
    // listener here, a client that resets it (or a write to it that fails) ends the process.
    socket.on('error', () => socket.destroy());
    try {
      upgrade(req, socket, head);
    } catch (e) {
      log(`uStart server: upgrade failed: ${messageOf(e)}\n`);
      if (socket.writable) socket.end(plainAnswer(500, 'uStart server error.\n'));
      else socket.destroy();
    }
  });

  const sockets = new Set<WebSocket>();
  /** Sends a frame, or drops a socket whose reader has fallen `socketBacklog` behind. */
  const sendText = (ws: WebSocket, text: string) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > limits.socketBacklog) {
      ws.terminate();
      return;
    }
    ws.send(text);
  };
  const send = (ws: WebSocket, frame: ServerFrame) => sendText(ws, JSON.stringify(frame));
  const unsubscribe = EVENT_NAMES.map((event) =>
    options.core.events.on(event, (payload) => {
      const frame: ServerFrame = { type: 'event', event, payload };
      const text = JSON.stringify(frame);
      for (const ws of sockets) sendText(ws, text);
    }),
  );

  const server = { requests: 0, bytes: 0 };
  /** Why a request of `size` bytes cannot be taken now, or undefined when it can. */
  const busy = (mine: { requests: number; bytes: number }, size: number): string | undefined => {
    if (mine.requests >= limits.socketRequests || mine.bytes + size > limits.socketBytes) {
      return `the uStart server is busy: this page has ${mine.requests} requests waiting for an answer (at most ${limits.socketRequests}, ${limits.socketBytes / 2 ** 20} MB). Wait for them to finish, then try again.`;
    }
    if (server.requests >= limits.serverRequests || server.bytes + size > limits.serverBytes) {
      return `the uStart server is busy: ${server.requests} requests from all its pages are waiting for an answer (at most ${limits.serverRequests}, ${limits.serverBytes / 2 ** 20} MB). Wait a moment and try again, and close uStart tabs you do not use.`;
    }
    return undefined;
  };
  /** Answers being worked on: `close` waits for them, so nothing writes after it returns. */
  const answering = new Set<Promise<void>>();
  const answer = async (ws: WebSocket, frame: ClientFrame): Promise<void> => {
    let result = await dispatch(options.core.handlers, frame.channel, frame.input);
    if (!result.ok && result.error.code === 'Internal') {
      // A fault inside the core: its text is for the operator's terminal, not the network.
      log(`uStart server: ${frame.channel} failed: ${result.error.message}\n`);
      result = fail(
        'Internal',
        `${frame.channel} failed inside uStart; the terminal running \`ustart serve\` says more.`,
      );
    }
    send(ws, { type: 'response', id: frame.id, result });
  };

  wss.on('connection', (ws) => {
    sockets.add(ws);
    const mine = { requests: 0, bytes: 0 };
    // ws closes the socket itself on a protocol fault (1009 for a frame over
    // MAX_FRAME_BYTES, 1002 for a bad frame) and then emits the fault here; without a
    // listener that would end the process.
    ws.on('error', () => undefined);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data, isBinary) => {
      let frame: ClientFrame;
      try {
        frame = ClientFrame.parse(JSON.parse(isBinary ? '' : data.toString()));
      } catch {
        ws.close(1003, 'frames must be JSON api requests');
        return;
      }
      const size = frameSize(data);
      const refused = busy(mine, size);
      if (refused !== undefined) {
        send(ws, { type: 'response', id: frame.id, result: fail('Busy', refused) });
        return;
      }
      mine.requests++;
      mine.bytes += size;
      server.requests++;
      server.bytes += size;
      const work = answer(ws, frame)
        .catch((e: unknown) => {
          log(`uStart server: answering ${frame.channel} failed: ${messageOf(e)}\n`);
          send(ws, {
            type: 'response',
            id: frame.id,
            result: fail('Internal', `uStart could not answer ${frame.channel}.`),
          });
        })
        .finally(() => {
          mine.requests--;
          mine.bytes -= size;
          server.requests--;
          server.bytes -= size;
          answering.delete(work);
        });
      answering.add(work);
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', (e) =>
      reject(
        new UstartError(
          'InvalidArgument',
          `cannot listen on ${host}:${port}: ${(e as Error).message}. Choose another --port.`,
          { cause: e },
        ),
      ),
    );
    http.listen(port, host, () => resolve());
  });
  // Once listening, a fault of the server (too many open files on accept) is told, not fatal.
  http.on('error', (e) => log(`uStart server: ${messageOf(e)}\n`));
  port = (http.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const origin = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    async close() {
      for (const off of unsubscribe) off();
      for (const ws of sockets) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      // A request already in the core (a render writing its folder) finishes first, for at
      // most CLOSE_WAIT_MS: a caller that removes the root after close finds nothing writing.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...answering]),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS))),
      ]);
      clearTimeout(timer);
    },
  };
}
