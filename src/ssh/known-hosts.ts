/**
 * Host-key checks against OpenSSH `known_hosts` files: the app's own file (read and
 * written) and the user's `~/.ssh/known_hosts` (read only). Supports plain and hashed
 * (`|1|salt|hash`) host patterns, `[host]:port` for non-default ports, comma lists,
 * `!negation` and `*`/`?` wildcards; `@revoked` lines refuse a key, `@cert-authority`
 * lines are ignored (uStart does not use host certificates).
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UstartError } from '../errors.js';
import { readRegularFile } from '../util/user-file.js';

/** OpenSSH-style fingerprint of a public key blob: `SHA256:` + base64 without padding. */
export function fingerprint(keyBlob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of an SSH public key blob (`ssh-ed25519`, ...). */
export function keyType(keyBlob: Uint8Array): string {
  const b = Buffer.from(keyBlob);
  const len = b.readUInt32BE(0);
  return b.subarray(4, 4 + len).toString('latin1');
}

/** How the name of a host appears in known_hosts: `host`, or `[host]:port` off port 22. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

interface Entry {
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  type: string;
  key: Buffer;
  file: string;
  line: number;
}

export type HostKeyVerdict =
  | { kind: 'known' }
  | { kind: 'unknown' }
  | { kind: 'mismatch'; known: string[]; where: string }
  | { kind: 'revoked'; where: string };

export class KnownHosts {
  /**
   * @param appFile the app's own known_hosts: read, and written when a key is accepted.
   * @param readOnlyFiles other files consulted, never written (the user's ~/.ssh/known_hosts).
   */
  constructor(
    readonly appFile: string,
    private readonly readOnlyFiles: readonly string[] = [],
  ) {}

  /** Checks `keyBlob` presented by `host:port`. Reads the files each time: they may change between connections. */
  async check(host: string, port: number, keyBlob: Uint8Array): Promise<HostKeyVerdict> {
    const name = hostPattern(host, port);
    const type = keyType(keyBlob);
    const entries = (
      await Promise.all([this.appFile, ...this.readOnlyFiles].map(readEntries))
    ).flat();
    const blob = Buffer.from(keyBlob);
    const matching = entries.filter(
      (e) => e.marker !== '@cert-authority' && matches(e.patterns, name),
    );
    const revoked = matching.find((e) => e.marker === '@revoked' && e.key.equals(blob));
    if (revoked) return { kind: 'revoked', where: `${revoked.file}:${revoked.line}` };
    const plain = matching.filter((e) => e.marker === undefined);
    if (plain.some((e) => e.key.equals(blob))) return { kind: 'known' };
    // Like OpenSSH, only a key of the same type counts as "changed"; another type is unknown.
    const sameType = plain.filter((e) => e.type === type);
    if (sameType.length > 0) {
      return {
        kind: 'mismatch',
        known: sameType.map((e) => fingerprint(e.key)),
        where: sameType.map((e) => `${e.file}:${e.line}`).join(', '),
      };
    }
    return { kind: 'unknown' };
  }

  /** Records an accepted key in the app's file (plain host pattern, as `ssh -o HashKnownHosts=no` does). */
  async add(host: string, port: number, keyBlob: Uint8Array): Promise<void> {
    const line = `${hostPattern(host, port)} ${keyType(keyBlob)} ${Buffer.from(keyBlob).toString('base64')}\n`;
    try {
      await mkdir(dirname(this.appFile), { recursive: true });
      await appendFile(this.appFile, line, { mode: 0o600 });
    } catch (e) {
      throw new UstartError(
        'WriteFailed',
        `could not record the host key of ${host} in ${this.appFile}: ${(e as Error).message}`,
        { cause: e, detail: { file: this.appFile } },
      );
    }
  }
}

async function readEntries(file: string): Promise<Entry[]> {
  let text: string;
  try {
    text = await readRegularFile(file, {
      what: 'known hosts file',
      code: 'ConnectionFailed',
      encoding: 'utf8',
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    if (e instanceof UstartError) throw e;
    throw new UstartError(
      'ConnectionFailed',
      `cannot read known hosts file ${file}: ${(e as Error).message}`,
      {
        cause: e,
        detail: { file },
      },
    );
  }
  const entries: Entry[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    const [patterns, type, b64] = fields;
    if (!patterns || !type || !b64) return;
    if (marker !== undefined && marker !== '@revoked' && marker !== '@cert-authority') return;
    entries.push({
      ...(marker ? { marker } : {}),
      patterns,
      type,
      key: Buffer.from(b64, 'base64'),
      file,
      line: i + 1,
    });
  });
  return entries;
}

/** OpenSSH's host-pattern match: a hashed entry, or a comma list with negations and wildcards. */
function matches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const p of patterns.split(',')) {
    const negated = p.startsWith('!');
    if (wildcard(negated ? p.slice(1) : p, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function wildcard(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}
