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
  parseMirrorOptions,
  parseUrlMirrors,
  parseSplitSize,
  verifyBundle,
  type AddItem,
  type EntryKind,
} from '../../bundle/index.js';
import { UstartError } from '../../errors.js';
import { bomFetchSpecs, bomImagePins } from '../../render/bom-artifacts.js';
import { checkPlanFile } from '../../plan/index.js';
import { EXIT } from '../exit.js';
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

  bundle
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
      '--mirror <[registry=]url>',
      'pull through this mirror (Harbor, Artifactory, Nexus, a pull-through cache): for every registry, or for one (repeatable)',
      collect,
      [],
    )
    .option('--mirror-file <file>', 'YAML "mirrors:" mapping of upstream registries to mirror URLs')
    .option(
      '--mirror-auth-file <file>',
      'mirror credentials, one "HOST USER:PASSWORD" line each, mode 0600 (or USTART_MIRROR_USERNAME/PASSWORD)',
    )
    .option(
      '--image-cache <dir>',
      'download cache for images, charts and files (default ~/.cache/ustart/oci)',
    )
    .option(
      '--bom-charts',
      "fetch the bill of materials' Helm charts into charts/ (needs the network)",
    )
    .option(
      '--bom-files',
      "fetch the bill of materials' release files into files/ (needs the network)",
    )
    .option(
      '--mirror-url <prefix=url>',
      'fetch charts and files under this URL prefix from a mirror instead (repeatable)',
      collect,
      [],
    )
    .option(
      '--ca-file <file>',
      'also trust this PEM CA certificate for charts and files (a mirror with a private CA; repeatable)',
      collect,
      [],
    )
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
      const fromBom = Boolean(opts.bomCharts) || Boolean(opts.bomFiles);
      if (
        opts.image.length === 0 &&
        (opts.platform.length > 0 ||
          (!fromBom && (opts.mirror.length > 0 || opts.mirrorFile || opts.imageCache)))
      ) {
        throw new UstartError(
          'InvalidArgument',
          '--mirror, --mirror-file, --platform and --image-cache choose how images (and, for --mirror, oci:// charts) are pulled; give the images with --image.',
        );
      }
      if (!fromBom && (opts.mirrorUrl.length > 0 || opts.caFile.length > 0)) {
        throw new UstartError(
          'InvalidArgument',
          '--mirror-url and --ca-file choose how charts and files are fetched; add --bom-charts or --bom-files.',
        );
      }
      const specs = fromBom ? bomFetchSpecs() : undefined;
      const fetch = specs
        ? {
            charts: opts.bomCharts ? specs.charts : [],
            files: opts.bomFiles ? specs.files : [],
            urlMirrors: parseUrlMirrors(opts.mirrorUrl),
            mirrors: new Map([
              ...(opts.mirrorFile ? await loadMirrorFile(opts.mirrorFile) : []),
              ...parseMirrorOptions(opts.mirror),
            ]),
            credentials: await loadMirrorCredentials(opts.mirrorAuthFile),
            ca: await Promise.all(opts.caFile.map(readCaFile)),
            ...(opts.imageCache ? { cacheDir: opts.imageCache } : {}),
          }
        : undefined;
      const imagePull =
        opts.image.length > 0
          ? {
              mirrors: new Map([
                ...(opts.mirrorFile ? await loadMirrorFile(opts.mirrorFile) : []),
                ...parseMirrorOptions(opts.mirror),
              ]),
              credentials: await loadMirrorCredentials(opts.mirrorAuthFile),
              // An image the bill of materials pins is pulled by its digest, or refused.
              pins: bomImagePins(),
              ...(opts.platform.length > 0 ? { platforms: opts.platform } : {}),
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
        ...(opts.arch ? { architecture: opts.arch } : {}),
        ...(imagePull ? { images: opts.image, imagePull } : {}),
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
          downloadedBytes: f.downloadedBytes,
        })),
        ...(opts.bomFiles ? { skipped: specs?.skipped ?? [] } : {}),
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
          const checked =
            f.verified === 'not-pinned'
              ? paint(out, 'yellow', `not pinned, got sha256 ${f.sha256}`)
              : `sha256 ${f.sha256} checked against the ${{ pinned: 'pin', index: 'repository index', 'oci-manifest': "registry's manifest" }[f.verified]}`;
          out.stdout(`  ${f.path}: ${checked}${f.downloadedBytes === 0 ? ' (cached)' : ''}\n`);
        }
        if (opts.bomFiles) {
          for (const s of specs?.skipped ?? [])
            out.stderr(paint(out, 'yellow', `warning: file ${s.name} not fetched: ${s.reason}\n`));
        }
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

interface CreateOpts {
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
  mirror: string[];
  mirrorFile?: string;
  mirrorAuthFile?: string;
  imageCache?: string;
  bomCharts?: boolean;
  bomFiles?: boolean;
  mirrorUrl: string[];
  caFile: string[];
  split?: string;
  createdAt?: string;
  runbook?: string;
  runbookVersion?: string;
  jsonEvents?: boolean;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
