/** `ustart bundle keygen|create|verify`: the offline bundle for air-gapped sites. */
import type { Command } from 'commander';
import {
  createBundle,
  ENTRY_KINDS,
  DEFAULT_PLATFORMS,
  generateKeyPair,
  loadMirrorCredentials,
  loadMirrorFile,
  loadPrivateKey,
  loadPublicKey,
  machineArchitecture,
  parseMirrorOptions,
  parseUrlMirrors,
  parseSplitSize,
  verifyBundle,
  type AddItem,
  type EntryKind,
} from '../../bundle/index.js';
import { UstartError } from '../../errors.js';
import {
  BOM_ARCHITECTURES,
  bom,
  readBom,
  type Bom,
  type BomArchitecture,
} from '../../render/bom.js';
import { bomFetchSpecs, bomImagePins } from '../../bundle/bom-artifacts.js';
import { checkPlanFile } from '../../plan/index.js';
import type { Plan } from '../../plan/schema.js';
import { EXIT } from '../exit.js';
import { collect } from '../options.js';
import { type Output, paint } from '../output.js';
import { formatBytes, progressReporter } from './bundle-progress.js';
import { readRegularFile } from '../../util/user-file.js';

export function registerBundleCommands(
  program: Command,
  out: Output,
  setCode: (c: number) => void,
): void {
  const bundle = program
    .command('bundle')
    .description('Offline bundles for air-gapped sites: keygen, create, verify.');

  bundle
    .command('keygen')
    .description(
      'Create an Ed25519 key pair to sign bundles: PREFIX.key (mode 0600) and PREFIX.pub.',
    )
    .requiredOption('--out <prefix>', 'path prefix of the two key files')
    .action(async (opts: { out: string }) => {
      const { privateKeyFile, publicKeyFile } = await generateKeyPair(opts.out);
      out.stdout(
        `wrote ${privateKeyFile} (private: keep it secret, it signs bundles) and ${publicKeyFile} (give it to whoever verifies)\n`,
      );
      setCode(EXIT.ok);
    });

  const create = bundle
    .command('create')
    .description('Build an offline bundle for a site plan on a connected machine.')
    .requiredOption('--plan <file>', 'the site plan (its site.osRelease decides the packages)')
    .requiredOption('--out <path>', 'a folder to create, or FILE.tar')
    .option('--key <file>', 'sign with this private key (PREFIX.key from "ustart bundle keygen")')
    .option(
      '--add <kind=path>',
      `add a local file or folder; kind is one of ${ENTRY_KINDS.join(', ')} (repeatable)`,
      collect,
      [],
    )
    .option('--only-added', 'build from --add items and the runbook alone: no downloads')
    .option(
      '--bom <parts>',
      `take only these parts of the bill of materials: a comma-separated list of ${BOM_PARTS.join(', ')} (default: all of them)`,
    )
    .option(
      '--no-bom',
      'take nothing from the bill of materials: only the packages, --artifacts, --add and --image',
    )
    .option(
      '--bom-file <file>',
      "build from this bill of materials (a customer runbook's bom.yaml) instead of uStart's",
    )
    .option(
      '--artifacts <file>',
      'YAML list of pinned artifacts (kind, name, url, sha256) to download',
    )
    .option('--packages <list>', "comma-separated Debian packages instead of the runbook's list")
    .option(
      '--apt-sources <file>',
      "deb822 sources to resolve packages from instead of this machine's",
    )
    .option('--arch <arch>', "Debian architecture of the packages (default: this machine's)")
    .option(
      '--image <ref>',
      'pull this image into images/images.oci.tar, an OCI image layout (repeatable)',
      collect,
      [],
    )
    .option(
      '--platform <os/arch>',
      `keep this platform of multi-arch images (repeatable; default ${DEFAULT_PLATFORMS.join(', ')})`,
      collect,
      [],
    )
    .option(
      '--image-cache <dir>',
      'download cache for images, charts and files (default ~/.cache/ustart/oci)',
    );
  withMirrorOptions(create);
  create
    .option('--split <size>', 'write FILE.tar as parts below this size, such as 4G for FAT32')
    .option(
      '--created-at <iso>',
      'build time recorded in the bundle (default: SOURCE_DATE_EPOCH, then now)',
    )
    .option('--runbook <dir>', 'runbook folder to ship (default: the one shipped with uStart)')
    .option('--runbook-version <version>', 'runbook version recorded in the manifest')
    .option('--json-events', 'print progress events as JSON lines on stdout')
    .action(async (opts: CreateOpts) => {
      const checked = await checkPlanFile(opts.plan);
      if (!checked.plan) {
        throw new UstartError(
          'PlanInvalid',
          `${opts.plan} does not match the plan schema; run "ustart validate ${opts.plan}".`,
        );
      }
      const progress = progressReporter(out, Boolean(opts.jsonEvents));
      const parts = bomParts(opts);
      const b = parts.size > 0 ? (opts.bomFile ? readBom(opts.bomFile) : bom()) : undefined;
      const architecture =
        parts.has('images') || parts.has('binaries')
          ? (opts.arch ?? (await machineArchitecture()))
          : opts.arch;
      if (b && parts.has('binaries')) checkBinaries(b, checked.plan, architecture!, opts);
      const specs = b
        ? bomFetchSpecs(b, parts.has('binaries') ? (architecture as BomArchitecture) : undefined)
        : undefined;
      const images = [...new Set([...(parts.has('images') ? specs!.images : []), ...opts.image])];
      const httpFetch = parts.has('charts') || parts.has('files') || parts.has('binaries');
      if (
        images.length === 0 &&
        (opts.platform.length > 0 ||
          (!httpFetch && (opts.mirror.length > 0 || opts.mirrorFile || opts.imageCache)))
      ) {
        throw new UstartError(
          'InvalidArgument',
          "--mirror, --mirror-file, --platform and --image-cache choose how images (and, for --mirror, oci:// charts) are pulled; there are no images to pull: give them with --image, or take the bill of materials' (drop --no-bom, or add images to --bom).",
        );
      }
      if (!httpFetch && (opts.mirrorUrl.length > 0 || opts.caFile.length > 0)) {
        throw new UstartError(
          'InvalidArgument',
          '--mirror-url and --ca-file choose how charts, files and binaries are fetched; this build fetches none (drop --no-bom or --only-added, or add charts, files or binaries to --bom).',
        );
      }
      const sources = images.length > 0 || httpFetch ? await mirrorSources(opts) : undefined;
      const fetch =
        specs && httpFetch
          ? {
              charts: parts.has('charts') ? specs.charts : [],
              files: [
                ...(parts.has('files') ? specs.files : []),
                ...(parts.has('binaries') ? specs.binaries : []),
              ],
              urlMirrors: sources!.urlMirrors,
              mirrors: sources!.mirrors,
              credentials: sources!.credentials,
              ca: sources!.ca,
              ...(opts.imageCache ? { cacheDir: opts.imageCache } : {}),
            }
          : undefined;
      // The bill of materials' images for the bundle's architecture; --image alone (no
      // bill of materials) keeps the puller's default platforms.
      const platforms =
        opts.platform.length > 0
          ? opts.platform
          : parts.has('images')
            ? [`linux/${architecture!}`]
            : undefined;
      const imagePull =
        images.length > 0
          ? {
              mirrors: sources!.mirrors,
              credentials: sources!.credentials,
              // An image the bill of materials pins is pulled by its digest, or refused.
              pins: bomImagePins(b),
              ...(platforms ? { platforms } : {}),
              ...(opts.imageCache ? { cacheDir: opts.imageCache } : {}),
            }
          : undefined;
      const created = await createBundle({
        plan: checked.plan,
        out: opts.out,
        ...(opts.key ? { privateKey: await loadPrivateKey(opts.key) } : {}),
        add: opts.add.map(parseAdd),
        onlyAdded: Boolean(opts.onlyAdded),
        ...(opts.artifacts ? { artifactsFile: opts.artifacts } : {}),
        ...(opts.packages !== undefined
          ? {
              packages: opts.packages
                .split(',')
                .map((p) => p.trim())
                .filter(Boolean),
            }
          : {}),
        ...(opts.aptSources ? { aptSourcesFile: opts.aptSources } : {}),
        ...(architecture ? { architecture } : {}),
        ...(imagePull ? { images, imagePull } : {}),
        ...(fetch ? { fetch } : {}),
        ...(opts.split ? { splitBytes: parseSplitSize(opts.split) } : {}),
        ...(opts.createdAt ? { createdAt: parseDate(opts.createdAt) } : {}),
        ...(opts.runbook ? { runbookDir: opts.runbook } : {}),
        ...(opts.runbookVersion ? { runbookVersion: opts.runbookVersion } : {}),
        onEvent: progress,
      });
      progress.done();
      const size = created.manifest.entries.reduce((n, e) => n + e.size, 0);
      const summary = {
        outputs: created.outputs,
        digest: created.manifest.digest,
        entries: created.manifest.entries.length,
        bytes: size,
        signed: created.signed,
        fetched: created.fetched.map((f) => ({
          path: f.path,
          url: f.url,
          sha256: f.sha256,
          size: f.size,
          verified: f.verified,
          ...(f.archive ? { archive: f.archive } : {}),
          downloadedBytes: f.downloadedBytes,
        })),
        ...(specs ? { bomParts: [...parts], skipped: skippedOf(specs.skipped, parts) } : {}),
      };
      if (opts.jsonEvents)
        out.stdout(JSON.stringify({ type: 'bundle-created', ...summary }) + '\n');
      else {
        out.stdout(
          `wrote ${created.outputs.join(', ')}\n` +
            `  ${summary.entries} entries, ${formatBytes(size)}, for ${created.manifest.targetOs.join(', ')} ${created.manifest.architecture}\n` +
            `  digest ${created.manifest.digest}\n`,
        );
        for (const f of created.fetched) {
          const got = f.archive ? `archive sha256 ${f.archive.sha256}` : `sha256 ${f.sha256}`;
          const checked =
            f.verified === 'not-pinned'
              ? paint(out, 'yellow', `not pinned, got ${got}`)
              : `${got} checked against the ${VERIFIED_AGAINST[f.verified]}`;
          const member = f.archive ? `, ${f.archive.member} taken from it` : '';
          out.stdout(
            `  ${f.path}: ${checked}${member}${f.downloadedBytes === 0 ? ' (cached)' : ''}\n`,
          );
        }
        for (const s of specs ? skippedOf(specs.skipped, parts) : [])
          out.stderr(
            paint(out, 'yellow', `warning: ${s.kind} ${s.name} not fetched: ${s.reason}\n`),
          );
        if (!created.signed) {
          out.stderr(
            paint(
              out,
              'yellow',
              'warning: the bundle is not signed and will not verify; pass --key PREFIX.key\n',
            ),
          );
        }
      }
      setCode(EXIT.ok);
    });

  bundle
    .command('verify')
    .description(
      'Check a bundle: signature first, then size and sha256 of every entry. Exit 1 on any problem.',
    )
    .argument('<bundle>', 'a bundle folder, FILE.tar, or FILE.tar.parts.json (or any of its parts)')
    .requiredOption('--key <file>', 'the public key (PREFIX.pub)')
    .option('--json', 'print the report as JSON')
    .action(async (path: string, opts: { key: string; json?: boolean }) => {
      const key = await loadPublicKey(opts.key);
      const progress = progressReporter(
        opts.json ? { ...out, isTTY: false, stderr: () => undefined } : out,
        false,
      );
      const started = performance.now();
      const report = await verifyBundle(path, key, { onEvent: progress });
      progress.done();
      const seconds = (performance.now() - started) / 1000;
      if (opts.json) {
        out.stdout(
          JSON.stringify(
            {
              bundle: report.bundle,
              container: report.container,
              ok: report.ok,
              signatureValid: report.signatureValid,
              digest: report.manifest?.digest,
              problems: report.problems,
              verifiedBytes: report.verifiedBytes,
            },
            null,
            2,
          ) + '\n',
        );
      } else if (report.ok) {
        out.stdout(
          paint(out, 'green', `${path}: verified`) +
            ` — signature valid, ${report.manifest?.entries.length ?? 0} entries, ${formatBytes(report.verifiedBytes)} ` +
            `in ${seconds.toFixed(1)} s (${(report.verifiedBytes / 1e6 / Math.max(seconds, 1e-3)).toFixed(0)} MB/s)\n` +
            `  digest ${report.manifest?.digest}\n`,
        );
      } else {
        out.stdout(
          paint(
            out,
            'red',
            `${path}: NOT verified — ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}; do not use this bundle`,
          ) +
            '\n' +
            report.problems.map((p) => `  ${paint(out, 'bold', p.kind)} ${p.message}\n`).join(''),
        );
      }
      setCode(report.ok ? EXIT.ok : EXIT.invalid);
    });
}

/** The parts of the bill of materials `bundle create` takes (`--bom`). */
const BOM_PARTS = ['images', 'charts', 'files', 'binaries'] as const;
type BomPart = (typeof BOM_PARTS)[number];

const VERIFIED_AGAINST = {
  pinned: 'pin',
  index: 'repository index',
  'oci-manifest': "registry's manifest",
  'upstream-sha256-file': 'checksum file upstream publishes beside it (same origin, not a pin)',
} as const;

/**
 * The parts of the bill of materials this build takes: all of them by default, those of
 * `--bom`, none with `--no-bom` or `--only-added` (no downloads).
 */
function bomParts(opts: CreateOpts): Set<BomPart> {
  const chosen = typeof opts.bom === 'string';
  if (opts.bom === false || opts.onlyAdded) {
    if (chosen || opts.bomFile) {
      throw new UstartError(
        'InvalidArgument',
        `--bom and --bom-file take downloads from the bill of materials, ${opts.onlyAdded ? '--only-added promises no downloads' : '--no-bom takes nothing from it'}; drop one of them.`,
      );
    }
    return new Set();
  }
  if (!chosen) return new Set(BOM_PARTS);
  const parts = (opts.bom as string)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const unknown = parts.filter((p) => !(BOM_PARTS as readonly string[]).includes(p));
  if (unknown.length > 0 || parts.length === 0) {
    throw new UstartError(
      'InvalidArgument',
      `--bom ${opts.bom as string}: write a comma-separated list of ${BOM_PARTS.join(', ')}${unknown.length ? ` (${unknown.join(', ')} is not one)` : ''}, or --no-bom for none.`,
    );
  }
  return new Set(parts as BomPart[]);
}

/** Entries the chosen parts would have taken but cannot, and why. */
function skippedOf(
  skipped: ReadonlyArray<{ kind: 'file' | 'binary'; name: string; reason: string }>,
  parts: ReadonlySet<BomPart>,
): Array<{ kind: 'file' | 'binary'; name: string; reason: string }> {
  return skipped.filter((s) => parts.has(s.kind === 'file' ? 'files' : 'binaries'));
}

/**
 * The bill of materials' binaries must exist for the bundle's architecture, and kubeadm's
 * version must be the plan's: kubernetes-packages.sh refuses any other on the hosts.
 */
function checkBinaries(b: Bom, plan: Plan, architecture: string, opts: CreateOpts): void {
  if (!(BOM_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw new UstartError(
      'InvalidArgument',
      `the bill of materials has binaries for ${BOM_ARCHITECTURES.join(' and ')}, not ${architecture}${opts.arch ? '' : " (this machine's architecture)"}; pass --arch, or leave binaries out of --bom.`,
    );
  }
  const kubeadm = b.binaries.kubeadm?.version.replace(/^v/, '');
  const wanted = plan.kubernetes.version.replace(/^v/, '');
  if (kubeadm && kubeadm !== wanted) {
    throw new UstartError(
      'InvalidArgument',
      `the plan asks for Kubernetes ${wanted} (kubernetes.version), but the bill of materials' kubeadm, kubelet and kubectl are ${kubeadm}; the hosts would refuse them. ` +
        `Set kubernetes.version to ${kubeadm}, or leave binaries out of --bom and add the right ones with --add binary=PATH.`,
    );
  }
}

interface CreateOpts extends MirrorOpts {
  plan: string;
  out: string;
  key?: string;
  add: string[];
  onlyAdded?: boolean;
  artifacts?: string;
  packages?: string;
  aptSources?: string;
  arch?: string;
  image: string[];
  platform: string[];
  imageCache?: string;
  /** `--bom PARTS` (a string), `--no-bom` (false), or neither (undefined). */
  bom?: string | false;
  bomFile?: string;
  split?: string;
  createdAt?: string;
  runbook?: string;
  runbookVersion?: string;
  jsonEvents?: boolean;
}

export async function readCaFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readRegularFile(file, { what: 'CA certificate', encoding: 'utf8' });
  } catch (e) {
    if (e instanceof UstartError) throw e;
    throw new UstartError('InvalidArgument', `--ca-file ${file}: cannot read it.`, { cause: e });
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new UstartError('InvalidArgument', `--ca-file ${file}: not a PEM certificate.`);
  return text;
}

function parseAdd(text: string): AddItem {
  const m = /^([a-z]+)=(.+)$/.exec(text);
  if (!m || !(ENTRY_KINDS as readonly string[]).includes(m[1]!)) {
    throw new UstartError(
      'InvalidArgument',
      `--add ${text}: write KIND=PATH with KIND one of ${ENTRY_KINDS.join(', ')}, such as --add binary=./kubeadm.`,
    );
  }
  return { kind: m[1] as EntryKind, path: m[2]! };
}

function parseDate(text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw new UstartError(
      'InvalidArgument',
      `--created-at ${text} is not a date; write it like 2026-01-31T12:00:00Z.`,
    );
  }
  return date;
}

/**
 * The options that choose where images, charts, files and binaries come from instead of
 * upstream: registry mirrors, their credentials, URL mirrors and the CAs to trust for them
 * (`bundle create`, `bom pin`).
 */
export function withMirrorOptions(command: Command): Command {
  return command
    .option(
      '--mirror <[registry=]url>',
      'pull images through this mirror (Harbor, Artifactory, Nexus, a pull-through cache): for every registry, or for one (repeatable)',
      collect,
      [],
    )
    .option('--mirror-file <file>', 'YAML "mirrors:" mapping of upstream registries to mirror URLs')
    .option(
      '--mirror-auth-file <file>',
      'mirror credentials, one "HOST USER:PASSWORD" line each, mode 0600 (or USTART_MIRROR_USERNAME/PASSWORD)',
    )
    .option(
      '--mirror-url <prefix=url>',
      'fetch charts, files and binaries under this URL prefix from a mirror instead (repeatable)',
      collect,
      [],
    )
    .option(
      '--ca-file <file>',
      'also trust this PEM CA certificate for charts, files and binaries (a mirror with a private CA; repeatable)',
      collect,
      [],
    );
}

export interface MirrorOpts {
  mirror: string[];
  mirrorFile?: string;
  mirrorAuthFile?: string;
  mirrorUrl: string[];
  caFile: string[];
}

/** The registry mirrors of `--mirror-file` and `--mirror` (the latter wins). */
async function registryMirrors(opts: MirrorOpts) {
  return new Map([
    ...(opts.mirrorFile ? await loadMirrorFile(opts.mirrorFile) : []),
    ...parseMirrorOptions(opts.mirror),
  ]);
}

/**
 * Everything `withMirrorOptions` names, read and checked: registry mirrors, their
 * credentials, URL mirrors and the CA certificates (every file before the first download).
 */
export async function mirrorSources(opts: MirrorOpts) {
  return {
    mirrors: await registryMirrors(opts),
    credentials: await loadMirrorCredentials(opts.mirrorAuthFile),
    urlMirrors: parseUrlMirrors(opts.mirrorUrl),
    ca: await Promise.all(opts.caFile.map(readCaFile)),
  };
}
