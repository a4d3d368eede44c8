/**
 * A minimal writer of `newc` cpio archives, the format the Linux kernel unpacks as an
 * initramfs; archives laid one after the other (each may be gzip'd) are unpacked in order,
 * later files over earlier ones (docs/upstream-facts.md#linux-initramfs-newc). That is how the
 * preseed is added to Debian's installer initrd without unpacking it.
 */

export interface CpioFile {
  /** Absolute path in the initramfs, such as `/preseed.cfg`. */
  path: string;
  mode: number;
  data: string | Uint8Array;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** The archive of `files`, their parent folders first (mode 0755, owned by root). */
export function cpioNewc(files: readonly CpioFile[]): Buffer {
  const chunks: Buffer[] = [];
  const dirs = new Set<string>();
  let ino = 1;
  const entry = (name: string, mode: number, data: Buffer, nlink: number) => {
    const fields = [
      ino++,
      mode,
      0,
      0,
      nlink,
      0,
      data.length,
      0,
      0,
      0,
      0,
      Buffer.byteLength(name) + 1,
      0,
    ];
    const head = Buffer.from(
      '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('') + name + '\0',
      'latin1',
    );
    chunks.push(head, Buffer.alloc(pad4(head.length)), data, Buffer.alloc(pad4(data.length)));
  };
  for (const f of files) {
    const name = f.path.replace(/^\/+/, '');
    if (
      !f.path.startsWith('/') ||
      name === '' ||
      name.split('/').some((p) => p === '..' || p === '')
    ) {
      throw new Error(`cpio: ${f.path} must be an absolute path without .. or //`);
    }
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entry(d, S_IFDIR | 0o755, Buffer.alloc(0), 2);
      }
    }
    entry(name, S_IFREG | (f.mode & 0o7777), Buffer.from(f.data), 1);
  }
  entry('TRAILER!!!', 0, Buffer.alloc(0), 1);
  return Buffer.concat(chunks);
}
