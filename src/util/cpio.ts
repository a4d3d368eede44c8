/**
 * A writer of cpio archives in the `newc` format, the one the Linux kernel unpacks as an
 * initramfs (docs/upstream-facts.md#linux-initramfs-newc): each entry is a 110-byte ASCII
 * header (magic `070701`, then 13 fields of 8 hex digits), the name with its NUL padded to 4
 * bytes, the data padded to 4 bytes; the archive ends with the entry `TRAILER!!!`. The
 * kernel unpacks archives laid one after the other, later entries over earlier ones, which is
 * how a test guest's own files are added to a shared base (test/support/qemu-guest.ts) and the
 * preseed to Debian's installer initrd (src/osinstall/iso.ts).
 */

/** One entry; paths are absolute in the guest. */
export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; mode: number; data: Uint8Array | string }
  | { kind: 'symlink'; path: string; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** The archive of `entries`; the parent folders of every entry come first, made once. */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const made = new Set<string>();
  let ino = 1;
  const push = (name: string, mode: number, data: Buffer, nlink: number) => {
    const fields = [
      ino++,
      mode,
      0, // uid: root
      0, // gid: root
      nlink,
      0, // mtime
      data.length,
      0,
      0,
      0,
      0,
      Buffer.byteLength(name) + 1,
      0, // check: unused in newc
    ];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('');
    const head = Buffer.from(`${header}${name}\0`, 'latin1');
    chunks.push(head, Buffer.alloc(pad4(head.length)), data, Buffer.alloc(pad4(data.length)));
  };
  const dir = (path: string, mode = 0o755) => {
    const name = path.replace(/^\/+/, '').replace(/\/+$/, '');
    if (name === '' || made.has(name)) return;
    parents(name);
    made.add(name);
    push(name, S_IFDIR | mode, Buffer.alloc(0), 2);
  };
  const parents = (name: string) => {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) dir(parts.slice(0, i).join('/'));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    if (!e.path.startsWith('/') || name === '' || name.split('/').includes('..')) {
      throw new Error(`cpio entry ${e.path}: the path must be absolute, without ..`);
    }
    switch (e.kind) {
      case 'dir':
        dir(name, e.mode);
        break;
      case 'file':
        parents(name);
        push(name, S_IFREG | (e.mode & 0o7777), Buffer.from(e.data), 1);
        break;
      case 'symlink':
        parents(name);
        push(name, S_IFLNK | 0o777, Buffer.from(e.target, 'latin1'), 1);
        break;
    }
  }
  push('TRAILER!!!', 0, Buffer.alloc(0), 1);
  return Buffer.concat(chunks);
}
