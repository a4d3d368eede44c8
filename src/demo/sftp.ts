/**
 * The SFTP subsystem of a demo host, over its in-memory file system: enough for uStart's
 * uploads (open, write, close, stat, setstat, mkdir, realpath, rename and the
 * `posix-rename@openssh.com` extension) and for a person's `sftp` session (read, readdir).
 */
import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, SFTPWrapper } from 'ssh2';
import { homeOf } from './commands.js';
import { Vfs, VfsError, type VfsNode } from './vfs.js';

const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/**
 * ssh2's server answers INIT with a fixed VERSION packet that names no extensions, so its
 * own client refuses `ext_openssh_rename` ("Server does not support this extended
 * request"). The demo host announces `posix-rename@openssh.com` as OpenSSH does, by
 * swapping that one packet on its way out.
 */
function versionWithPosixRename(): Buffer {
  const name = Buffer.from('posix-rename@openssh.com');
  const data = Buffer.from('1');
  const body = Buffer.alloc(1 + 4 + 4 + name.length + 4 + data.length);
  let p = 0;
  body[p++] = 2; // SSH_FXP_VERSION
  body.writeUInt32BE(3, p);
  p += 4;
  body.writeUInt32BE(name.length, p);
  name.copy(body, (p += 4));
  body.writeUInt32BE(data.length, (p += name.length));
  data.copy(body, p + 4);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

interface Internals {
  _protocol: { channelData(id: number, data: Buffer): void };
}

function announceExtensions(sftp: SFTPWrapper): void {
  const self = sftp as unknown as Internals;
  const protocol = self._protocol;
  const proxy = new Proxy(protocol, {
    get(target, prop) {
      if (prop === 'channelData') {
        return (id: number, data: Buffer) => {
          const isVersion = data.length === 9 && data[4] === 2;
          if (isVersion) self._protocol = protocol;
          target.channelData(id, isVersion ? versionWithPosixRename() : data);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  self._protocol = proxy;
}

function attrsOf(n: VfsNode): Attributes {
  const t = Math.floor((n.mtime || Date.now()) / 1000);
  return {
    mode: (n.kind === 'dir' ? S_IFDIR : S_IFREG) | n.mode,
    uid: n.owner.startsWith('root') ? 0 : 1000,
    gid: n.owner.endsWith('root') ? 0 : 1000,
    size: n.kind === 'file' ? n.size : 4096,
    atime: t,
    mtime: t,
  };
}

/** Serves one SFTP session for `user` on `vfs`. */
export function serveSftp(sftp: SFTPWrapper, vfs: Vfs, user: string): void {
  announceExtensions(sftp);
  const owner = user === 'root' ? 'root:root' : `${user}:${user}`;
  const handles = new Map<string, { path: string; dir?: string[] }>();
  let nextHandle = 1;
  const open = (path: string, dir?: string[]) => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(nextHandle++);
    handles.set(h.toString('hex'), { path, ...(dir ? { dir } : {}) });
    return h;
  };
  const resolve = (p: string) => Vfs.normalize(p, homeOf(user));
  const fail = (reqId: number, e: unknown) => {
    if (!(e instanceof VfsError)) throw e;
    sftp.status(
      reqId,
      e.code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.FAILURE,
      e.message,
    );
  };
  const handled = (reqId: number, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      fail(reqId, e);
    }
  };

  sftp.on('OPEN', (reqId, filename, flags, attrs) =>
    handled(reqId, () => {
      const path = resolve(filename);
      const node = vfs.get(path);
      if (flags & OPEN_MODE.WRITE || flags & OPEN_MODE.CREAT) {
        if (node && flags & OPEN_MODE.EXCL)
          return sftp.status(reqId, STATUS_CODE.FAILURE, 'file exists');
        if (!node) {
          if (!(flags & OPEN_MODE.CREAT)) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE);
          // A simplification of the demo: the folders a runbook installs into are there.
          vfs.mkdirp(posix.dirname(path));
          vfs.write(path, '', { mode: (attrs.mode ?? 0o644) & 0o7777, owner });
        } else if (flags & OPEN_MODE.TRUNC) vfs.truncate(path);
      } else if (!node) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE);
      if (vfs.get(path)?.kind === 'dir')
        return sftp.status(reqId, STATUS_CODE.FAILURE, 'is a directory');
      sftp.handle(reqId, open(path));
    }),
  );
  sftp.on('WRITE', (reqId, handle, offset, data) =>
    handled(reqId, () => {
      const h = handles.get(handle.toString('hex'));
      if (!h) return sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
      vfs.writeAt(h.path, offset, data);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('READ', (reqId, handle, offset, length) =>
    handled(reqId, () => {
      const h = handles.get(handle.toString('hex'));
      if (!h) return sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
      const data = vfs.read(h.path);
      if (offset >= data.length) return sftp.status(reqId, STATUS_CODE.EOF);
      sftp.data(reqId, Buffer.from(data.subarray(offset, offset + length)));
    }),
  );
  sftp.on('CLOSE', (reqId, handle) => {
    handles.delete(handle.toString('hex'));
    sftp.status(reqId, STATUS_CODE.OK);
  });
  sftp.on('FSTAT', (reqId, handle) => {
    const h = handles.get(handle.toString('hex'));
    const n = h && vfs.get(h.path);
    if (!n) return sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
    sftp.attrs(reqId, attrsOf(n));
  });
  const stat = (reqId: number, path: string) => {
    const n = vfs.get(resolve(path));
    if (!n) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE);
    sftp.attrs(reqId, attrsOf(n));
  };
  sftp.on('STAT', stat);
  sftp.on('LSTAT', stat);
  const setstat = (reqId: number, path: string | undefined, attrs: Attributes) => {
    const n = path && vfs.get(path);
    if (!n) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE);
    if (attrs.mode !== undefined) n.mode = attrs.mode & 0o7777;
    sftp.status(reqId, STATUS_CODE.OK);
  };
  sftp.on('SETSTAT', (reqId, path, attrs) => setstat(reqId, resolve(path), attrs));
  sftp.on('FSETSTAT', (reqId, handle, attrs) =>
    setstat(reqId, handles.get(handle.toString('hex'))?.path, attrs),
  );
  sftp.on('MKDIR', (reqId, path, attrs) =>
    handled(reqId, () => {
      vfs.mkdir(resolve(path), (attrs.mode ?? 0o755) & 0o7777, owner);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('RMDIR', (reqId, path) =>
    handled(reqId, () => {
      if (vfs.get(resolve(path))?.kind !== 'dir')
        return sftp.status(reqId, STATUS_CODE.FAILURE, 'not a directory');
      vfs.remove(resolve(path));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('REMOVE', (reqId, path) =>
    handled(reqId, () => {
      if (vfs.get(resolve(path))?.kind === 'dir')
        return sftp.status(reqId, STATUS_CODE.FAILURE, 'is a directory');
      vfs.remove(resolve(path));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('RENAME', (reqId, from, to) =>
    handled(reqId, () => {
      // SFTP v3 rename refuses to replace; posix-rename is the one that does.
      if (vfs.exists(resolve(to)))
        return sftp.status(reqId, STATUS_CODE.FAILURE, 'destination exists');
      vfs.rename(resolve(from), resolve(to));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('EXTENDED', (reqId, name, data) =>
    handled(reqId, () => {
      if (name !== 'posix-rename@openssh.com')
        return sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED);
      const fromLen = data.readUInt32BE(0);
      const from = data.subarray(4, 4 + fromLen).toString('utf8');
      const to = data
        .subarray(8 + fromLen, 8 + fromLen + data.readUInt32BE(4 + fromLen))
        .toString('utf8');
      vfs.rename(resolve(from), resolve(to));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('REALPATH', (reqId, path) => {
    const p = resolve(path);
    const n = vfs.get(p);
    sftp.name(reqId, [{ filename: p, longname: p, attrs: n ? attrsOf(n) : ({} as Attributes) }]);
  });
  sftp.on('OPENDIR', (reqId, path) => {
    const p = resolve(path);
    if (vfs.get(p)?.kind !== 'dir') return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE);
    sftp.handle(reqId, open(p, vfs.list(p)));
  });
  sftp.on('READDIR', (reqId, handle) => {
    const h = handles.get(handle.toString('hex'));
    if (!h?.dir) return sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
    if (!h.dir.length) return sftp.status(reqId, STATUS_CODE.EOF);
    const names = h.dir.splice(0, h.dir.length);
    sftp.name(
      reqId,
      names.map((filename) => {
        const n = vfs.get(`${h.path === '/' ? '' : h.path}/${filename}`)!;
        return { filename, longname: filename, attrs: attrsOf(n) };
      }),
    );
  });
}
