/**
 * A real OCI registry for tests and benches: Debian's `docker-registry` (distribution 2.8)
 * as a child process on 127.0.0.1, with token authentication against a small token server
 * run here (JWTs signed ES256 with a key whose self-signed certificate openssl makes, the
 * certificate in the token's `x5c` header and in the registry's `rootcertbundle`), or as a
 * pull-through cache (`proxy: remoteurl`) of another registry. Plus the helpers that build
 * small images and push them through the registry API, and an HTTP proxy that counts, cuts
 * or corrupts what passes through it.
 *
 * Everything started here is stopped by `stop()`; nothing waits on a timer: a registry is
 * ready when its log says it listens, a server when `listen` calls back.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { isUstartError, type UstartError } from '../../src/errors.js';

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Scopes asked for, in order, and whether the request carried Basic credentials. */
  requests: { scope: string[]; basic: string | undefined }[];
  /** Repositories whose tokens grant nothing (the registry then refuses the token). */
  deny: Set<string>;
  /** A token for `scope` (what a client gets), for the test's own pushes. */
  token(scope: string): string;
  stop(): Promise<void>;
}

/**
 * A self-signed P-256 certificate and its key, made with openssl in `dir` as
 * `<name>.key`/`<name>.crt`; `extra` adds openssl options (such as `-addext subjectAltName=…`).
 */
export async function makeEcCertificate(
  dir: string,
  name: string,
  subject: string,
  extra: string[] = [],
): Promise<{ keyFile: string; certFile: string }> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    subject,
    ...extra,
  ]);
  return { keyFile, certFile };
}

/** The UstartError a promise rejects with; fails the test when it resolves or throws another. */
export async function failure(promise: Promise<unknown>): Promise<UstartError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isUstartError(e)) throw new Error(`expected a UstartError, got ${String(e)}`);
  return e;
}

/** A token server after distribution's token specification: anonymous, grants what is asked. */
export async function startTokenServer(dir: string): Promise<TokenServer> {
  await mkdir(dir, { recursive: true });
  const { keyFile, certFile } = await makeEcCertificate(
    dir,
    'token',
    '/CN=ustart-test-token-issuer',
  );
  const key = createPrivateKey(await readFile(keyFile));
  const der = new X509Certificate(await readFile(certFile)).raw;
  const service = 'ustart-test-registry';
  const issuer = 'ustart-test-issuer';
  const requests: TokenServer['requests'] = [];
  const deny = new Set<string>();
  const token = (scopes: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((scope) => {
      const m = /^repository:(.+):([a-z,*]+)$/.exec(scope);
      return m && !deny.has(m[1]!)
        ? [{ type: 'repository', name: m[1], actions: m[2]!.split(',') }]
        : [];
    });
    const head = b64url(
      JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [der.toString('base64')] }),
    );
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: '',
        aud: service,
        exp: now + 300,
        nbf: now - 5,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      }),
    );
    const signature = sign('sha256', Buffer.from(`${head}.${claims}`), {
      key,
      dsaEncoding: 'ieee-p1363',
    });
    return `${head}.${claims}.${b64url(signature)}`;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    requests.push({ scope: scopes, basic: req.headers.authorization });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ token: token(scopes), expires_in: 300 }));
  });
  const sockets = trackSockets(server);
  const port = await listen(server);
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    deny,
    token: (scope) => token([scope]),
    stop: () => closeServer(server, sockets),
  };
}

export interface Registry {
  url: string;
  host: string;
  /** The registry's log so far (access log lines included). */
  log: string[];
  stop(): Promise<void>;
}

export interface RegistryOptions {
  dir: string;
  tokenServer?: TokenServer;
  /** A pull-through cache of this registry URL. */
  proxyOf?: string;
}

/** Starts docker-registry and resolves once it listens. */
export async function startRegistry(options: RegistryOptions): Promise<Registry> {
  await mkdir(join(options.dir, 'storage'), { recursive: true });
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(options.dir, 'storage')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (options.tokenServer) {
    const t = options.tokenServer;
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${t.realm}`,
      `    service: ${t.service}`,
      `    issuer: ${t.issuer}`,
      `    rootcertbundle: ${t.certFile}`,
    );
  }
  if (options.proxyOf) lines.push('proxy:', `  remoteurl: ${options.proxyOf}`);
  const config = join(options.dir, 'config.yml');
  await writeFile(config, lines.join('\n') + '\n');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        log.push(line);
        if (line.includes('listening on')) resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new Error('docker-registry is not installed: apt-get install docker-registry', {
              cause: e,
            })
          : e,
      ),
    );
    child.once('exit', (code) =>
      reject(new Error(`docker-registry exited (${code}) before listening:\n${log.join('\n')}`)),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    log,
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

// ---- images -------------------------------------------------------------------------

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  /** In memory, or a file for large layers. */
  data: Buffer | { file: string };
}

export function blobOf(mediaType: string, data: Buffer): Blob {
  return {
    mediaType,
    digest: `sha256:${createHash('sha256').update(data).digest('hex')}`,
    size: data.length,
    data,
  };
}

export function descriptor(b: Blob, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra };
}

/** A tar holding one file, written by hand (header, content, padding, end blocks). */
export function tarOf(name: string, content: Buffer): Buffer {
  return Buffer.concat([
    tarHeader(name, content.length),
    content,
    Buffer.alloc((512 - (content.length % 512)) % 512),
    Buffer.alloc(1024),
  ]);
}

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('15033370300\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/**
 * A Helm chart as an OCI artifact: Helm's config and chart-content layer types
 * (docs/upstream-facts.md#helm.oci-media-types) and the manifest naming them.
 */
export function helmOciArtifact(
  name: string,
  version: string,
  archive: Buffer,
): { config: Blob; layer: Blob; manifest: Blob } {
  const layer = blobOf('application/vnd.cncf.helm.chart.content.v1.tar+gzip', archive);
  const config = blobOf(
    'application/vnd.cncf.helm.config.v1+json',
    Buffer.from(JSON.stringify({ name, version, apiVersion: 'v2' })),
  );
  const manifest = blobOf(
    'application/vnd.oci.image.manifest.v1+json',
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: descriptor(config),
        layers: [descriptor(layer)],
      }),
    ),
  );
  return { config, layer, manifest };
}

/** A layer file of `size` random bytes (a tar of one file), written to disk while hashed. */
export async function writeLayerFile(file: string, size: number): Promise<Blob> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const put = async (b: Buffer) => {
    hash.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  await put(tarHeader('data.bin', size));
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  for (let done = 0; done < size;) {
    const n = Math.min(chunk.length, size - done);
    randomBytes(n).copy(chunk, 0, 0, n);
    await put(chunk.subarray(0, n));
    done += n;
  }
  await put(Buffer.alloc((512 - (size % 512)) % 512));
  await put(Buffer.alloc(1024));
  await new Promise<void>((resolve, reject) =>
    out.end((e?: Error | null) => (e ? reject(e) : resolve())),
  );
  const total = (await stat(file)).size;
  return {
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    digest: `sha256:${hash.digest('hex')}`,
    size: total,
    data: { file },
  };
}

export type Flavour = 'oci' | 'docker';

const TYPES = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

export interface BuiltImage {
  manifest: Blob;
  blobs: Blob[];
}

/** A small image for one platform: a config and gzip'd tar layers of the given files. */
export function buildImage(
  flavour: Flavour,
  platform: { os: string; architecture: string; variant?: string },
  files: Record<string, string>,
  extraLayers: Blob[] = [],
): BuiltImage {
  const t = TYPES[flavour];
  const layers = Object.entries(files).map(([name, text]) => {
    const tar = tarOf(name, Buffer.from(text));
    return {
      blob: blobOf(t.layer, gzipSync(tar, { level: 9 })),
      diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}`,
    };
  });
  const diffIds = [...extraLayers.map((l) => l.digest), ...layers.map((l) => l.diffId)];
  const config = blobOf(
    t.config,
    Buffer.from(
      JSON.stringify({
        ...platform,
        config: { Cmd: ['/bin/true'] },
        rootfs: { type: 'layers', diff_ids: diffIds },
      }),
    ),
  );
  const allLayers = [...extraLayers, ...layers.map((l) => l.blob)];
  const manifest = blobOf(
    t.manifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: t.manifest,
        config: descriptor(config),
        layers: allLayers.map((l) => descriptor(l)),
      }),
    ),
  );
  return { manifest, blobs: [config, ...allLayers] };
}

/** An index (or Docker manifest list) over images, each with its platform. */
export function buildIndex(
  flavour: Flavour,
  images: {
    image: BuiltImage;
    platform: Record<string, string>;
    annotations?: Record<string, string>;
  }[],
): Blob {
  const t = TYPES[flavour];
  return blobOf(
    t.index,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: t.index,
        manifests: images.map((i) =>
          descriptor(i.image.manifest, {
            platform: i.platform,
            ...(i.annotations ? { annotations: i.annotations } : {}),
          }),
        ),
      }),
    ),
  );
}

/** Pushes blobs and manifests through the registry API with a push token. */
export class Pusher {
  constructor(
    private readonly registry: Registry,
    private readonly tokens?: TokenServer,
  ) {}

  private auth(repository: string): Record<string, string> {
    return this.tokens
      ? { authorization: `Bearer ${this.tokens.token(`repository:${repository}:pull,push`)}` }
      : {};
  }

  async blob(repository: string, blob: Blob): Promise<void> {
    const start = await request(
      `${this.registry.url}/v2/${repository}/blobs/uploads/`,
      'POST',
      this.auth(repository),
    );
    if (start.status !== 202)
      throw new Error(`upload start ${repository}: HTTP ${start.status} ${start.body}`);
    const location = new URL(start.headers.location!, this.registry.url);
    location.searchParams.set('digest', blob.digest);
    const done = await request(
      location.toString(),
      'PUT',
      {
        ...this.auth(repository),
        'content-type': 'application/octet-stream',
        'content-length': String(blob.size),
      },
      blob.data,
    );
    if (done.status !== 201)
      throw new Error(`upload ${repository} ${blob.digest}: HTTP ${done.status} ${done.body}`);
  }

  async manifest(repository: string, reference: string, manifest: Blob): Promise<void> {
    const done = await request(
      `${this.registry.url}/v2/${repository}/manifests/${reference}`,
      'PUT',
      { ...this.auth(repository), 'content-type': manifest.mediaType },
      manifest.data,
    );
    if (done.status !== 201)
      throw new Error(`manifest ${repository}:${reference}: HTTP ${done.status} ${done.body}`);
  }

  async image(repository: string, tag: string | undefined, image: BuiltImage): Promise<void> {
    for (const b of image.blobs) await this.blob(repository, b);
    await this.manifest(repository, tag ?? image.manifest.digest, image.manifest);
  }
}

function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer | { file: string },
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.once('error', reject);
    });
    req.once('error', reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else createReadStream(body.file).pipe(req);
  });
}

// ---- a proxy that counts, cuts and corrupts -----------------------------------------

export interface ProxyRecord {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
}

export interface DamageRule {
  /** Blob digest the rule applies to. */
  digest: string;
  /** Flip one byte in the middle of the body. */
  corrupt?: boolean;
  /** Close the connection after this many body bytes. */
  cutAfter?: number;
  /** Drop the request's Range header, as a server that ignores Range would. */
  ignoreRange?: boolean;
  /** How many responses the rule damages (then it lets the blob pass). */
  times: number;
}

export interface DamageProxy {
  url: string;
  host: string;
  records: ProxyRecord[];
  rules: DamageRule[];
  /** With `basic` set, every request needs these credentials (a mirror that asks for them). */
  basic?: { username: string; password: string };
  stop(): Promise<void>;
}

/** An HTTP proxy in front of `target` that records every request and applies damage rules. */
export async function startDamageProxy(target: string): Promise<DamageProxy> {
  const upstream = new URL(target);
  const records: ProxyRecord[] = [];
  const rules: DamageRule[] = [];
  const state: { basic?: DamageProxy['basic'] } = {};
  const server = http.createServer((req, res) => {
    const record: ProxyRecord = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      range: req.headers.range,
      status: 0,
      bytes: 0,
    };
    records.push(record);
    if (state.basic) {
      const expected = `Basic ${Buffer.from(`${state.basic.username}:${state.basic.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        record.status = 401;
        res.writeHead(401, {
          'www-authenticate': 'Basic realm="ustart-test-mirror"',
          'content-type': 'application/json',
        });
        res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
    }
    const headers = { ...req.headers, host: upstream.host };
    if (state.basic) delete headers.authorization;
    const asked = /\/blobs\/(sha256:[0-9a-f]{64})/.exec(req.url ?? '')?.[1];
    if (rules.some((r) => r.digest === asked && r.ignoreRange)) delete headers.range;
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
      (upRes) => {
        record.status = upRes.statusCode ?? 0;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        const digest = /\/blobs\/(sha256:[0-9a-f]{64})/.exec(req.url ?? '')?.[1];
        const rule =
          req.method === 'GET' && record.status < 300
            ? rules.find((r) => r.digest === digest && r.times > 0)
            : undefined;
        if (rule) rule.times--;
        let sent = 0;
        let corrupted = false;
        upRes.on('data', (chunk: Buffer) => {
          let data = chunk;
          if (rule?.cutAfter !== undefined && sent + data.length > rule.cutAfter) {
            const keep = rule.cutAfter - sent;
            if (keep > 0) res.write(data.subarray(0, keep));
            record.bytes += Math.max(0, keep);
            upRes.destroy();
            // Closed once what was written has gone out: the client gets exactly `cutAfter`.
            res.socket?.destroySoon();
            return;
          }
          if (rule?.corrupt && !corrupted && data.length > 0) {
            data = Buffer.from(data);
            const middle = data.length >> 1;
            data[middle] = data[middle]! ^ 0xff;
            corrupted = true;
          }
          sent += data.length;
          record.bytes += data.length;
          res.write(data);
        });
        upRes.once('end', () => res.end());
      },
    );
    out.once('error', () => res.destroy());
    req.pipe(out);
  });
  const sockets = trackSockets(server);
  const port = await listen(server);
  const proxy: DamageProxy = {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    records,
    rules,
    stop: () => closeServer(server, sockets),
  };
  Object.defineProperty(proxy, 'basic', {
    get: () => state.basic,
    set: (v: DamageProxy['basic']) => {
      if (v) state.basic = v;
      else delete state.basic;
    },
  });
  return proxy;
}

/** `skopeo` with arguments; resolves with its output, rejects with its stderr. */
export async function skopeo(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('skopeo', args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string; code?: unknown };
    if (err.code === 'ENOENT')
      throw new Error('skopeo is not installed: apt-get install skopeo', { cause: e });
    throw new Error(`skopeo ${args.join(' ')}: ${err.stderr || err.message}`, { cause: e });
  }
}
