/**
 * Browser mode: the built renderer over HTTP and the api over one WebSocket.
 *
 * Who may talk to it: only a page that knows the random token (given in the URL, then kept
 * in an HttpOnly cookie for this port), whose Origin is the origin it was served from, and
 * whose Host is this server (so a DNS-rebinding page cannot pose as it). Every request frame
 * is parsed with the contract before it reaches the core.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  API_SOCKET_PATH,
  ClientFrame,
  EVENT_NAMES,
  MAX_FRAME_BYTES,
  dispatch,
  type ServerFrame,
} from '../api/index.js';
import type { Core } from '../app/index.js';
import { UstartError } from '../errors.js';

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
}

export interface RunningServer {
  /** The URL to open, with the token. */
  url: string;
  /** The origin pages are served from (no token). */
  origin: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

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

function csp(wsOrigin: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ${wsOrigin}`,
    "frame-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(24).toString('base64url');
  const root = normalize(options.rendererDir);
  let port = options.port ?? 0;
  const cookieName = () => `ustart-${port}`;

  /** The Host header must name this server: loopback names when bound to loopback. */
  const hostAllowed = (req: IncomingMessage): string | undefined => {
    const hostHeader = req.headers.host;
    if (!hostHeader) return undefined;
    const url = new URL(`http://${hostHeader}`);
    if (Number(url.port || 80) !== port) return undefined;
    const loopbackOnly = LOOPBACK.has(host);
    if (loopbackOnly && !LOOPBACK.has(url.hostname)) return undefined;
    return url.host;
  };
  const authorised = (req: IncomingMessage, url: URL) =>
    sameSecret(url.searchParams.get('token') ?? undefined, token) ||
    sameSecret(cookieValue(req, cookieName()), token);

  const deny = (res: ServerResponse, status: number, text: string) => {
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(text);
  };

  const http = createHttpServer((req, res) => {
    void (async () => {
      const served = hostAllowed(req);
      if (!served) return deny(res, 421, 'This uStart server does not serve that host name.\n');
      if (req.method !== 'GET' && req.method !== 'HEAD') return deny(res, 405, 'Only GET.\n');
      const url = new URL(req.url ?? '/', `http://${served}`);
      if (!authorised(req, url)) {
        return deny(res, 403, 'Open the full URL that `ustart serve` printed, with its ?token=…\n');
      }
      const headers: Record<string, string> = {
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cross-origin-opener-policy': 'same-origin',
        'content-security-policy': csp(`ws://${served}`),
      };
      if (url.searchParams.has('token')) {
        headers['set-cookie'] = `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`;
      }
      const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
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
      headers['content-type'] = TYPES[extname(file)] ?? 'application/octet-stream';
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    })().catch((e: unknown) => deny(res, 500, `uStart server error: ${String(e)}\n`));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  http.on('upgrade', (req, socket, head) => {
    const served = hostAllowed(req);
    const url = new URL(req.url ?? '/', `http://${served ?? 'invalid'}`);
    const originOk = served !== undefined && req.headers.origin === `http://${served}`;
    if (!served || !originOk || url.pathname !== API_SOCKET_PATH || !authorised(req, url)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const sockets = new Set<WebSocket>();
  const unsubscribe = EVENT_NAMES.map((event) =>
    options.core.events.on(event, (payload) => {
      const frame: ServerFrame = { type: 'event', event, payload };
      const text = JSON.stringify(frame);
      for (const ws of sockets) ws.send(text);
    }),
  );
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data, isBinary) => {
      void (async () => {
        let frame: ClientFrame;
        try {
          frame = ClientFrame.parse(JSON.parse(isBinary ? '' : data.toString()));
        } catch {
          ws.close(1003, 'frames must be JSON api requests');
          return;
        }
        const result = await dispatch(options.core.handlers, frame.channel, frame.input);
        const answer: ServerFrame = { type: 'response', id: frame.id, result };
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(answer));
      })();
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
    },
  };
}
