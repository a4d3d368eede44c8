/**
 * Building a bundle on a connected machine: gather the runbook, local files, pinned
 * artifacts and the Debian packages with their closure; hash everything; generate the apt
 * index; write the manifest and its signature; then write a folder, a tar, or tar parts.
 * Outputs appear whole or not at all (written beside the target, then renamed).
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { UstartError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import {
  downloadPackageClosure,
  machineArchitecture,
  machineRelease,
  privateSourcesFor,
  readMachineSources,
} from './apt-download.js';
import { APT_DIR, buildAptIndex } from './apt-repo.js';
import { downloadArtifact, loadArtifactList } from './artifacts.js';
import { throttleProgress, type BundleEventListener } from './events.js';
import { hashFile } from './hash.js';
import {
  buildManifest,
  KIND_FOLDERS,
  MANIFEST_NAME,
  serializeManifest,
  SIGNATURE_NAME,
  type EntryKind,
  type Manifest,
} from './manifest.js';
import { DEFAULT_OS_RELEASE, DEFAULT_RUNBOOK_VERSION, RUNBOOK_PACKAGES } from './packages.js';
import { compareEntryPaths, entryPathProblem } from './entry-paths.js';
import { pullImages, type PullImagesOptions } from './oci/index.js';
import { fetchArtifacts, type FetchArtifactsOptions, type FetchedArtifact } from './fetch/index.js';
import { signManifest } from './signature.js';
import { PartsWriter } from './split.js';
import { writeTar, type TarMember } from './tar.js';
import { readRegularFile } from '../util/user-file.js';

/** A local file or folder to add (`--add KIND=PATH`). */
export interface AddItem {
  kind: EntryKind;
  path: string;
}

export interface CreateBundleOptions {
  /** The site plan: its `site.osRelease` decides which packages are resolved. */
  plan: Plan;
  /** A folder, or a file ending in `.tar`. */
  out: string;
  /** Signs the manifest; without it the bundle is unsigned and will not verify. */
  privateKey?: KeyObject;
  add?: readonly AddItem[];
  /** Build from `add` and the runbook alone: no packages, no artifacts, no network. */
  onlyAdded?: boolean;
  /** YAML list of pinned artifacts (artifacts.ts). */
  artifactsFile?: string;
  /** Packages to resolve instead of the runbook's list. */
  packages?: readonly string[];
  /** deb822 sources file to resolve from instead of the machine's sources. */
  aptSourcesFile?: string;
  architecture?: string;
  /**
   * Images to pull from their registries (or mirrors) into `images/images.oci.tar`, one OCI
   * image layout as a tar (docs/bundle-format.md, "Images"). Needs the network.
   */
  images?: readonly string[];
  /** How images are pulled: platforms, mirrors and their credentials, cache, concurrency. */
  imagePull?: Omit<PullImagesOptions, 'images' | 'out' | 'onEvent' | 'signal'>;
  /**
   * Helm charts, release files and binaries to fetch into `charts/`, `files/` and `bin/`
   * (fetch/), such as the bill of materials' (`bomFetchSpecs`). Needs the network.
   */
  fetch?: Omit<FetchArtifactsOptions, 'onEvent' | 'signal'>;
  /** Write tar parts of at most this many bytes (split.ts). Needs a `.tar` output. */
  splitBytes?: number;
  /** Build time; defaults to SOURCE_DATE_EPOCH, then now. Same inputs + same time = same bytes. */
  createdAt?: Date;
  runbookVersion?: string;
  /** Folder with the runbook to ship; defaults to the runbook shipped with uStart, when present. */
  runbookDir?: string;
  onEvent?: BundleEventListener;
  signal?: AbortSignal;
}

export interface CreatedBundle {
  manifest: Manifest;
  manifestBytes: Buffer;
  signed: boolean;
  /** Every file or folder written. */
  outputs: string[];
  /** The charts, files and binaries fetched (`fetch`), each with how its sha256 was checked. */
  fetched: FetchedArtifact[];
}

interface Staged {
  path: string;
  kind: EntryKind;
  source: { file: string } | { bytes: Uint8Array };
  size: number;
  sha256: string;
}

/** The build time: the option, else SOURCE_DATE_EPOCH (reproducible builds), else now; whole seconds. */
export function resolveCreatedAt(given?: Date, env = process.env): Date {
  if (given) return new Date(Math.floor(given.getTime() / 1000) * 1000);
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && epoch !== '') {
    if (!/^\d+$/.test(epoch)) {
      throw new UstartError(
        'InvalidArgument',
        `SOURCE_DATE_EPOCH="${epoch}" is not a number of seconds since 1970.`,
      );
    }
    return new Date(Number(epoch) * 1000);
  }
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

export async function createBundle(options: CreateBundleOptions): Promise<CreatedBundle> {
  const emit = throttleProgress(options.onEvent);
  const createdAt = resolveCreatedAt(options.createdAt);
  const release = options.plan.site.osRelease ?? DEFAULT_OS_RELEASE;
  const architecture = options.architecture ?? (await machineArchitecture());
  const asTar = options.out.endsWith('.tar');
  if (options.splitBytes !== undefined && !asTar) {
    throw new UstartError(
      'InvalidArgument',
      `--split needs a tar output (--out FILE.tar); ${options.out} is a folder.`,
    );
  }
  await refuseExisting(options.out, options.splitBytes !== undefined);
  const workDir = await mkdtemp(join(tmpdir(), 'ustart-bundle-'));
  try {
    const inputs: { path: string; kind: EntryKind; file: string }[] = [];
    const runbookDir = options.runbookDir ?? assetPath('runbook');
    if (options.runbookDir !== undefined || (await isDirectory(runbookDir))) {
      for (const file of await listFiles(runbookDir)) {
        inputs.push({
          path: `runbook/${toEntryPath(relative(runbookDir, file))}`,
          kind: 'runbook',
          file,
        });
      }
    }
    for (const item of options.add ?? []) inputs.push(...(await expandAdd(item)));
    // Every file the user named is read before the first download: a bad one fails at once,
    // not after an hour of pulling images.
    const artifacts =
      !options.onlyAdded && options.artifactsFile
        ? await loadArtifactList(options.artifactsFile)
        : [];
    const aptSourcesText = options.aptSourcesFile
      ? await readText(options.aptSourcesFile)
      : undefined;
    if (options.images && options.images.length > 0) {
      if (options.onlyAdded) {
        throw new UstartError(
          'InvalidArgument',
          '--image pulls from registries, --only-added promises no network; drop one of them.',
        );
      }
      inputs.push(await pullImageArchive(options, options.images, workDir, createdAt, emit));
    }
    let fetched: FetchedArtifact[] = [];
    if ((options.fetch?.charts?.length ?? 0) + (options.fetch?.files?.length ?? 0) > 0) {
      if (options.onlyAdded) {
        throw new UstartError(
          'InvalidArgument',
          'charts, files and binaries to fetch (from the bill of materials) are downloaded, --only-added promises no network; drop one of them.',
        );
      }
      fetched = await fetchArtifacts({
        ...options.fetch,
        onEvent: emit,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      for (const f of fetched) inputs.push({ path: f.path, kind: f.kind, file: f.file });
    }
    if (!options.onlyAdded) {
      inputs.push(...(await downloadArtifacts(artifacts, options.signal, workDir, emit)));
      const packages = options.packages ?? RUNBOOK_PACKAGES[release];
      if (packages.length > 0) {
        emit({ type: 'phase-started', phase: 'resolve-packages', totalItems: packages.length });
        const sourcesText =
          aptSourcesText ??
          privateSourcesFor(release, await machineRelease(), await readMachineSources());
        const debs = await downloadPackageClosure({
          packages,
          sourcesText,
          architecture,
          workDir: join(workDir, 'apt'),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        for (const deb of debs)
          inputs.push({ path: `${KIND_FOLDERS.deb}/${deb.name}`, kind: 'deb', file: deb.file });
        emit({ type: 'phase-finished', phase: 'resolve-packages' });
      }
    }
    checkPaths(inputs.map((i) => i.path));

    const staged = await hashInputs(inputs, emit, options.signal);
    const debs = staged.filter((s) => s.kind === 'deb');
    if (debs.length > 0) {
      const index = await buildAptIndex(
        debs.map((d) => ({
          path: d.path,
          file: (d.source as { file: string }).file,
          size: d.size,
          sha256: d.sha256,
        })),
        createdAt,
      );
      for (const [name, bytes] of [
        ['Packages', index.packages],
        ['Packages.gz', index.packagesGz],
        ['Release', index.release],
      ] as const) {
        staged.push(fromBytes(`${APT_DIR}/${name}`, 'file', bytes));
      }
    }
    checkPaths(staged.map((s) => s.path));
    staged.sort((a, b) => compareEntryPaths(a.path, b.path));

    const manifest = buildManifest({
      runbookVersion: options.runbookVersion ?? DEFAULT_RUNBOOK_VERSION,
      targetOs: [release],
      architecture,
      createdAt: createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      entries: staged.map((s) => ({ path: s.path, kind: s.kind, size: s.size, sha256: s.sha256 })),
    });
    const manifestBytes = serializeManifest(manifest);
    const signature = options.privateKey
      ? signManifest(manifestBytes, options.privateKey)
      : undefined;

    const totalBytes = staged.reduce((n, s) => n + s.size, 0);
    emit({ type: 'phase-started', phase: 'write', totalBytes });
    const outputs = asTar
      ? await writeTarOutput(options, staged, manifestBytes, signature, createdAt, totalBytes, emit)
      : await writeFolderOutput(options.out, staged, manifestBytes, signature, totalBytes, emit);
    emit({ type: 'phase-finished', phase: 'write' });
    return { manifest, manifestBytes, signed: signature !== undefined, outputs, fetched };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function refuseExisting(out: string, split: boolean): Promise<void> {
  const taken = split ? `${out}.parts.json` : out;
  if (await exists(taken)) {
    throw new UstartError(
      'InvalidArgument',
      `${taken} already exists; nothing was written. Remove it or choose another --out.`,
    );
  }
}

async function downloadArtifacts(
  artifacts: Awaited<ReturnType<typeof loadArtifactList>>,
  signal: AbortSignal | undefined,
  workDir: string,
  emit: BundleEventListener,
): Promise<{ path: string; kind: EntryKind; file: string }[]> {
  if (artifacts.length === 0) return [];
  const dir = join(workDir, 'artifacts');
  await mkdir(dir, { recursive: true });
  emit({ type: 'phase-started', phase: 'download', totalItems: artifacts.length });
  const result: { path: string; kind: EntryKind; file: string }[] = [];
  for (const artifact of artifacts) {
    const file = await downloadArtifact(
      artifact,
      dir,
      (done) =>
        emit({ type: 'progressed', phase: 'download', doneBytes: done, item: artifact.name }),
      signal,
    );
    emit({ type: 'item-finished', phase: 'download', item: artifact.name });
    result.push({
      path: `${KIND_FOLDERS[artifact.kind]}/${artifact.name}`,
      kind: artifact.kind,
      file,
    });
  }
  emit({ type: 'phase-finished', phase: 'download' });
  return result;
}

/** Where `--image` puts the pulled layout in a bundle. */
export const IMAGE_ARCHIVE = 'images.oci.tar';

/**
 * Pulls the images into an OCI layout, then packs it as a tar (oci-layout, index.json,
 * blobs in digest order; same mtime and owner for every member as the bundle's own tar), the
 * form `ctr images import` takes on the hosts.
 */
async function pullImageArchive(
  options: CreateBundleOptions,
  images: readonly string[],
  workDir: string,
  createdAt: Date,
  emit: BundleEventListener,
): Promise<{ path: string; kind: EntryKind; file: string }> {
  const layout = join(workDir, 'images-layout');
  await pullImages({
    ...options.imagePull,
    images,
    out: layout,
    onEvent: emit,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const blobs = (await readdir(join(layout, 'blobs', 'sha256'))).sort();
  const members: TarMember[] = [];
  for (const name of ['oci-layout', 'index.json', ...blobs.map((b) => `blobs/sha256/${b}`)]) {
    const file = join(layout, ...name.split('/'));
    members.push({ name, size: (await stat(file)).size, source: { file } });
  }
  const archive = join(workDir, IMAGE_ARCHIVE);
  await writeTar(members, createdAt, createWriteStream(archive));
  return { path: `${KIND_FOLDERS.image}/${IMAGE_ARCHIVE}`, kind: 'image', file: archive };
}

async function expandAdd(
  item: AddItem,
): Promise<{ path: string; kind: EntryKind; file: string }[]> {
  const folder = KIND_FOLDERS[item.kind];
  const name = basename(item.path);
  let info;
  try {
    info = await stat(item.path);
  } catch (e) {
    throw new UstartError(
      'InvalidArgument',
      `--add ${item.kind}=${item.path}: the file does not exist.`,
      {
        cause: e,
      },
    );
  }
  if (info.isFile()) return [{ path: `${folder}/${name}`, kind: item.kind, file: item.path }];
  if (!info.isDirectory()) {
    throw new UstartError(
      'InvalidArgument',
      `--add ${item.kind}=${item.path}: not a file or folder.`,
    );
  }
  return (await listFiles(item.path)).map((file) => ({
    path: `${folder}/${name}/${toEntryPath(relative(item.path, file))}`,
    kind: item.kind,
    file,
  }));
}

function checkPaths(paths: readonly string[]): void {
  const seen = new Set<string>();
  for (const path of paths) {
    const problem = entryPathProblem(path);
    if (problem)
      throw new UstartError('InvalidArgument', `bundle entry ${JSON.stringify(path)}: ${problem}.`);
    if (path === MANIFEST_NAME || path === SIGNATURE_NAME || seen.has(path)) {
      throw new UstartError(
        'InvalidArgument',
        `two inputs would both be ${path} in the bundle; rename one of them.`,
        { detail: { path } },
      );
    }
    seen.add(path);
  }
}

async function hashInputs(
  inputs: readonly { path: string; kind: EntryKind; file: string }[],
  emit: BundleEventListener,
  signal: AbortSignal | undefined,
): Promise<Staged[]> {
  const sizes = await Promise.all(inputs.map(async (i) => (await stat(i.file)).size));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  emit({ type: 'phase-started', phase: 'hash', totalBytes, totalItems: inputs.length });
  let before = 0;
  const staged: Staged[] = [];
  for (const input of inputs) {
    const digest = await hashFile(
      input.file,
      (done) =>
        emit({
          type: 'progressed',
          phase: 'hash',
          doneBytes: before + done,
          totalBytes,
          item: input.path,
        }),
      signal,
    );
    before += digest.size;
    staged.push({ path: input.path, kind: input.kind, source: { file: input.file }, ...digest });
  }
  emit({ type: 'phase-finished', phase: 'hash' });
  return staged;
}

function fromBytes(path: string, kind: EntryKind, bytes: Uint8Array): Staged {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { path, kind, source: { bytes }, size: bytes.byteLength, sha256 };
}

async function writeTarOutput(
  options: CreateBundleOptions,
  staged: readonly Staged[],
  manifestBytes: Buffer,
  signature: Buffer | undefined,
  createdAt: Date,
  totalBytes: number,
  emit: BundleEventListener,
): Promise<string[]> {
  // The manifest and signature come first so a verifier checks the signature before
  // reading a single byte of content.
  const members: TarMember[] = [
    { name: MANIFEST_NAME, size: manifestBytes.length, source: { bytes: manifestBytes } },
    ...(signature
      ? [{ name: SIGNATURE_NAME, size: signature.length, source: { bytes: signature } }]
      : []),
    ...staged.map((s) => ({
      name: s.path,
      size: s.size,
      executable: s.kind === 'binary',
      source: s.source,
    })),
  ];
  const progress = (done: number, member: string) =>
    emit({ type: 'progressed', phase: 'write', doneBytes: done, totalBytes, item: member });
  if (options.splitBytes !== undefined) {
    const writer = new PartsWriter(options.out, options.splitBytes);
    try {
      await writeTar(members, createdAt, writer, progress);
    } catch (e) {
      await writer.discard();
      throw e;
    }
    return writer.written;
  }
  const partial = `${options.out}.partial`;
  try {
    await writeTar(members, createdAt, createWriteStream(partial), progress);
    await rename(partial, options.out);
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
  return [options.out];
}

async function writeFolderOutput(
  out: string,
  staged: readonly Staged[],
  manifestBytes: Buffer,
  signature: Buffer | undefined,
  totalBytes: number,
  emit: BundleEventListener,
): Promise<string[]> {
  const partial = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.partial`);
  await mkdir(partial, { recursive: true });
  try {
    let done = 0;
    for (const s of staged) {
      const target = join(partial, ...s.path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      if ('file' in s.source) await copyFile(s.source.file, target);
      else await writeFile(target, s.source.bytes);
      await chmod(target, s.kind === 'binary' ? 0o755 : 0o644);
      done += s.size;
      emit({ type: 'progressed', phase: 'write', doneBytes: done, totalBytes, item: s.path });
    }
    await writeFile(join(partial, MANIFEST_NAME), manifestBytes);
    if (signature) await writeFile(join(partial, SIGNATURE_NAME), signature);
    await rename(partial, out);
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    throw e;
  }
  return [out];
}

/** Regular files under `dir`, recursively, sorted; symbolic links are refused. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(full);
    else {
      throw new UstartError(
        'InvalidArgument',
        `${full} is not a regular file (a link or device); bundles hold regular files only.`,
      );
    }
  }
  return out.sort();
}

function toEntryPath(rel: string): string {
  return rel.split(sep).join('/').normalize('NFC');
}

async function readText(file: string): Promise<string> {
  try {
    return await readRegularFile(file, { encoding: 'utf8' });
  } catch (e) {
    if (e instanceof UstartError) throw e;
    throw new UstartError('InvalidArgument', `cannot read ${file}.`, { cause: e });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
