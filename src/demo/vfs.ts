/**
 * The in-memory file system of one demo host. Everything the demo's shell and SFTP server
 * write lands here, never on the laptop's disk.
 */
import { posix } from 'node:path';

export interface VfsFile {
  kind: 'file';
  data: Buffer;
  /** Bytes in use of `data` (which grows in steps, so many small writes stay cheap). */
  size: number;
  mode: number;
  owner: string;
  mtime: number;
}

export interface VfsDir {
  kind: 'dir';
  mode: number;
  owner: string;
  mtime: number;
}

export type VfsNode = VfsFile | VfsDir;

/** Errors carry the errno name, so the shell and SFTP layers can say it their own way. */
export class VfsError extends Error {
  constructor(
    readonly code: 'ENOENT' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOTEMPTY',
    readonly path: string,
  ) {
    super(`${code}: ${path}`);
  }
}

export class Vfs {
  private readonly nodes = new Map<string, VfsNode>([['/', dir(0o755, 'root:root')]]);

  constructor(private readonly now: () => number = Date.now) {}

  static normalize(path: string, cwd = '/'): string {
    return posix.resolve(cwd, path);
  }

  get(path: string): VfsNode | undefined {
    return this.nodes.get(Vfs.normalize(path));
  }

  exists(path: string): boolean {
    return this.nodes.has(Vfs.normalize(path));
  }

  /** Creates `path` and its missing parents (mkdir -p). */
  mkdirp(path: string, mode = 0o755, owner = 'root:root'): void {
    const p = Vfs.normalize(path);
    if (p === '/') return;
    const existing = this.nodes.get(p);
    if (existing) {
      if (existing.kind !== 'dir') throw new VfsError('ENOTDIR', p);
      return;
    }
    this.mkdirp(posix.dirname(p), mode, owner);
    this.nodes.set(p, dir(mode, owner, this.now()));
  }

  /** mkdir without -p: the parent must exist, the path must not. */
  mkdir(path: string, mode = 0o755, owner = 'root:root'): void {
    const p = Vfs.normalize(path);
    if (this.nodes.has(p)) throw new VfsError('EEXIST', p);
    this.parentDir(p);
    this.nodes.set(p, dir(mode, owner, this.now()));
  }

  read(path: string): Buffer {
    const n = this.nodes.get(Vfs.normalize(path));
    if (!n) throw new VfsError('ENOENT', path);
    if (n.kind === 'dir') throw new VfsError('EISDIR', path);
    return n.data.subarray(0, n.size);
  }

  readText(path: string): string {
    return this.read(path).toString('utf8');
  }

  /** Creates or replaces a file; the parent directory must exist. */
  write(path: string, data: string | Uint8Array, options: { mode?: number; owner?: string } = {}) {
    const p = Vfs.normalize(path);
    const old = this.nodes.get(p);
    if (old?.kind === 'dir') throw new VfsError('EISDIR', p);
    this.parentDir(p);
    const buf = Buffer.from(data);
    this.nodes.set(p, {
      kind: 'file',
      data: buf,
      size: buf.length,
      mode: options.mode ?? old?.mode ?? 0o644,
      owner: options.owner ?? old?.owner ?? 'root:root',
      mtime: this.now(),
    });
  }

  append(path: string, data: string | Uint8Array): void {
    const p = Vfs.normalize(path);
    const old = this.nodes.get(p);
    if (old?.kind === 'file') this.writeAt(p, old.size, Buffer.from(data));
    else this.write(p, data);
  }

  /** Writes `data` at `offset` of an existing file, growing it as needed. */
  writeAt(path: string, offset: number, data: Uint8Array): void {
    const n = this.nodes.get(Vfs.normalize(path));
    if (!n) throw new VfsError('ENOENT', path);
    if (n.kind === 'dir') throw new VfsError('EISDIR', path);
    const end = offset + data.length;
    if (end > n.data.length) {
      const grown = Buffer.alloc(Math.max(end, n.data.length * 2, 4096));
      n.data.copy(grown, 0, 0, n.size);
      n.data = grown;
    }
    if (offset > n.size) n.data.fill(0, n.size, offset);
    Buffer.from(data.buffer, data.byteOffset, data.length).copy(n.data, offset);
    n.size = Math.max(n.size, end);
    n.mtime = this.now();
  }

  truncate(path: string): void {
    const n = this.nodes.get(Vfs.normalize(path));
    if (n?.kind === 'file') n.size = 0;
  }

  remove(path: string, recursive = false): void {
    const p = Vfs.normalize(path);
    const n = this.nodes.get(p);
    if (!n) throw new VfsError('ENOENT', p);
    const children = this.list(p);
    if (n.kind === 'dir' && children.length && !recursive) throw new VfsError('ENOTEMPTY', p);
    for (const key of [...this.nodes.keys()]) if (key.startsWith(`${p}/`)) this.nodes.delete(key);
    this.nodes.delete(p);
  }

  /** rename(2): replaces a file at `to` atomically. */
  rename(from: string, to: string): void {
    const a = Vfs.normalize(from);
    const b = Vfs.normalize(to);
    const n = this.nodes.get(a);
    if (!n) throw new VfsError('ENOENT', a);
    this.parentDir(b);
    if (this.nodes.get(b)?.kind === 'dir') throw new VfsError('EISDIR', b);
    for (const key of [...this.nodes.keys()]) {
      if (key.startsWith(`${a}/`)) {
        this.nodes.set(b + key.slice(a.length), this.nodes.get(key)!);
        this.nodes.delete(key);
      }
    }
    this.nodes.delete(a);
    this.nodes.set(b, n);
  }

  /** Names directly inside directory `path`, sorted. */
  list(path: string): string[] {
    const p = Vfs.normalize(path);
    const prefix = p === '/' ? '/' : `${p}/`;
    return [...this.nodes.keys()]
      .filter((k) => k !== p && k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      .map((k) => k.slice(prefix.length))
      .sort();
  }

  private parentDir(p: string): void {
    const parent = this.nodes.get(posix.dirname(p));
    if (!parent) throw new VfsError('ENOENT', posix.dirname(p));
    if (parent.kind !== 'dir') throw new VfsError('ENOTDIR', posix.dirname(p));
  }
}

function dir(mode: number, owner: string, mtime = 0): VfsDir {
  return { kind: 'dir', mode, owner, mtime };
}
