/**
 * The flat apt repository inside a bundle (`apt/`): the `.deb` files in `apt/pool/`, and
 * `apt/Packages`, `apt/Packages.gz` and `apt/Release` generated here. Each package's
 * control paragraph comes from `dpkg-deb --field` (dpkg is on every Debian/Ubuntu machine;
 * dpkg-dev's dpkg-scanpackages is not, and would hash every file a second time); we add
 * `Filename`, `Size` and `SHA256` from the digests the bundle already computed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { UstartError } from '../errors.js';

const run = promisify(execFile);

/** Where the repository sits inside the bundle; `deb` entries live in `${APT_DIR}/pool/`. */
export const APT_DIR = 'apt';

export interface DebInput {
  /** Path inside the bundle, such as `apt/pool/runc_1.1.5_amd64.deb`. */
  path: string;
  /** Where the file is now, to read its control fields. */
  file: string;
  size: number;
  sha256: string;
}

export interface AptIndex {
  packages: Buffer;
  packagesGz: Buffer;
  release: Buffer;
}

/** Reads the control paragraph of a `.deb` (every field, as the package declares it). */
export async function debControl(file: string): Promise<string> {
  try {
    const { stdout } = await run('dpkg-deb', ['--field', file], { maxBuffer: 16 * 1024 * 1024 });
    return stdout.replace(/\n+$/, '');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new UstartError(
      'InvalidArgument',
      missing
        ? `dpkg-deb is not installed; bundles with .deb files are built on Debian or Ubuntu (apt-get install dpkg).`
        : `${file} is not a readable Debian package: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`,
      { cause: e, detail: { file } },
    );
  }
}

/** Builds Packages, Packages.gz and Release for the given debs; deterministic for the same inputs. */
export async function buildAptIndex(debs: readonly DebInput[], createdAt: Date): Promise<AptIndex> {
  const paragraphs: { key: string; text: string }[] = [];
  for (const deb of debs) {
    const control = await debControl(deb.file);
    const field = (name: string) =>
      new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(control)?.[1]?.trim() ?? '';
    const relative = deb.path.slice(APT_DIR.length + 1);
    paragraphs.push({
      key: `${field('Package')}\0${field('Version')}\0${field('Architecture')}\0${relative}`,
      text: `${control}\nFilename: ${relative}\nSize: ${deb.size}\nSHA256: ${deb.sha256}\n`,
    });
  }
  paragraphs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const packages = Buffer.from(paragraphs.map((p) => p.text).join('\n'), 'utf8');
  const packagesGz = gzipSync(packages, { level: 9 });
  // The gzip header's OS byte is zlib's compile-time platform; fix it so every builder agrees.
  packagesGz[9] = 3;
  const line = (name: string, bytes: Buffer) =>
    ` ${createHash('sha256').update(bytes).digest('hex')} ${bytes.length} ${name}`;
  const release = Buffer.from(
    [
      'Origin: uStart',
      'Label: uStart offline bundle',
      `Date: ${createdAt.toUTCString()}`,
      'SHA256:',
      line('Packages', packages),
      line('Packages.gz', packagesGz),
      '',
    ].join('\n'),
    'utf8',
  );
  return { packages, packagesGz, release };
}
