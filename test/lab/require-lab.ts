/**
 * Tests that need the lab call `labAvailable()` at module level and use
 * `describe.skipIf(!available)`. Outside CI a machine without root or OpenSSH skips them;
 * in CI (CI=true) a missing prerequisite is an error, so a green CI always ran them.
 */
import { existsSync } from 'node:fs';

const TOOLS = ['/usr/sbin/sshd', '/usr/bin/ssh-keygen', '/usr/bin/unshare', '/usr/bin/nsenter'];

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'the test lab needs Linux (network namespaces)';
  if (process.getuid?.() !== 0) return 'the test lab needs root (ip netns, mount)';
  const missing = TOOLS.filter((t) => !existsSync(t));
  if (!existsSync('/usr/sbin/ip') && !existsSync('/usr/bin/ip')) missing.push('ip (iproute2)');
  if (missing.length > 0) {
    return `the test lab needs ${missing.join(', ')}: apt-get install openssh-server openssh-client iproute2 util-linux`;
  }
  return undefined;
}

/** True when lab tests can run; throws in CI when they cannot, so they are never silently skipped there. */
export function labAvailable(): boolean {
  const reason = labUnavailableReason();
  if (reason === undefined) return true;
  if (process.env.CI) throw new Error(`lab tests cannot run in CI: ${reason}`);
  return false;
}
