/**
 * The Debian/Ubuntu packages the runbook installs on the hosts. The runbook owns the list
 * (`packages/apt.yaml` of the runbook directory: package names by the step or purpose that
 * needs them); the bundle resolves them with their dependency closure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { UstartError } from '../errors.js';
import type { OS_RELEASES } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';

export type OsRelease = (typeof OS_RELEASES)[number];

/** The version of the default runbook the bundle is built for, until the runbook carries one. */
export const DEFAULT_RUNBOOK_VERSION = '0.1.0';

/** Used when the plan names no OS release, as the plan schema documents. */
export const DEFAULT_OS_RELEASE: OsRelease = 'ubuntu-24.04';

/** Where a runbook directory lists its packages. */
export const PACKAGES_FILE = join('packages', 'apt.yaml');

// Debian policy §5.6.1: lower case, digits, + - . ; at least two characters, starting alphanumeric.
const PackageName = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'not a Debian package name');
const PackageGroups = z.record(z.string(), z.array(PackageName).min(1));

/**
 * The runbook's packages by group (a step id such as `umetal.containerd`, or a purpose such as
 * `host-tools`), in file order. Read synchronously: the list is small and read once per build.
 */
export function runbookPackageGroups(runbookDir = assetPath('runbook')): Record<string, string[]> {
  const file = join(runbookDir, PACKAGES_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UstartError(
      'RunbookInvalid',
      `cannot read the runbook's package list ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)}); every runbook lists the packages it installs there`,
      { cause: e },
    );
  }
  const parsed = PackageGroups.safeParse(parse(text) ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UstartError(
      'RunbookInvalid',
      `${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}; each entry is "group: [package, ...]"`,
    );
  }
  return parsed.data;
}

/** The packages of some groups (all when `groups` is absent), each once, in file order. */
export function runbookPackages(
  groups?: readonly string[],
  runbookDir = assetPath('runbook'),
): string[] {
  const all = runbookPackageGroups(runbookDir);
  for (const g of groups ?? []) {
    if (!(g in all)) {
      throw new UstartError(
        'RunbookInvalid',
        `no package group "${g}" in ${join(runbookDir, PACKAGES_FILE)}; it has: ${Object.keys(all).join(', ')}`,
      );
    }
  }
  const chosen = groups ?? Object.keys(all);
  return [...new Set(chosen.flatMap((g) => all[g]!))];
}

/**
 * The default runbook's packages per OS release: the same names on every supported release
 * (Debian and Ubuntu name these packages alike).
 */
export const RUNBOOK_PACKAGES: Record<OsRelease, readonly string[]> = (() => {
  const packages = runbookPackages();
  return {
    'debian-12': packages,
    'debian-13': packages,
    'ubuntu-22.04': packages,
    'ubuntu-24.04': packages,
  };
})();
