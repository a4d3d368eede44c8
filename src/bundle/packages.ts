/**
 * The Debian/Ubuntu packages the runbook installs on every host, per OS release. The
 * bundle resolves these with their dependency closure. Until the runbook declares its own
 * packages this list stands in for it; the runbook's owner takes it over then.
 */
import type { OS_RELEASES } from '../plan/schema.js';

export type OsRelease = (typeof OS_RELEASES)[number];

/** The version of the default runbook the bundle is built for, until the runbook carries one. */
export const DEFAULT_RUNBOOK_VERSION = '0.1.0';

/** Used when the plan names no OS release, as the plan schema documents. */
export const DEFAULT_OS_RELEASE: OsRelease = 'ubuntu-24.04';

const COMMON = [
  'containerd',
  'runc',
  'chrony',
  'conntrack',
  'socat',
  'ebtables',
  'ethtool',
  'ipset',
  'iptables',
  'nfs-common',
  'open-iscsi',
  'lvm2',
  'apparmor',
  'ca-certificates',
];

export const RUNBOOK_PACKAGES: Record<OsRelease, readonly string[]> = {
  'debian-12': COMMON,
  'debian-13': COMMON,
  'ubuntu-22.04': COMMON,
  'ubuntu-24.04': COMMON,
};
