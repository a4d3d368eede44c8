/**
 * How fast a dead link is noticed (docs/ssh.md, "Connections"). The transport sends an SSH
 * keepalive (`keepalive@openssh.com`, a global request that wants a reply) every
 * `intervalMs` and gives up when `count` of them in a row got no answer, as OpenSSH's
 * `ServerAliveInterval` × `ServerAliveCountMax` would.
 *
 * ssh2 (1.17, lib/client.js `sendKA`, docs/upstream-facts.md#ssh2.keepalive-count) counts differently: each tick of its interval timer
 * adds one, an answer (or a channel success/failure) sets the count back to 0 and restarts
 * the timer, and it gives up on the tick where the count exceeds `keepaliveCountMax`, so
 * `keepaliveCountMax + 1` intervals after the last answer. Giving it `count - 1` makes it
 * give up `count` intervals after the last answer. The last answer came at most when the
 * link dropped, so a dropped link ends the connection within `intervalMs × count` of the
 * drop (and no sooner than `(count - 1)` intervals, less a round trip). A closed TCP
 * connection (a killed sshd, a rebooted host that answers with RST) ends it at once.
 */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000;
export const DEFAULT_KEEPALIVE_COUNT = 3;

export interface KeepaliveSettings {
  /** `keepaliveInterval` for ssh2. */
  intervalMs: number;
  /** `keepaliveCountMax` for ssh2: one less than the count asked for. */
  ssh2CountMax: number;
  /** The most a dropped link can go unnoticed: interval × count. */
  detectionMs: number;
}

export function keepaliveSettings(
  options: { keepaliveIntervalMs?: number; keepaliveCountMax?: number } = {},
): KeepaliveSettings {
  const intervalMs = options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
  const count = options.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT;
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) {
    throw new RangeError(
      `keepaliveIntervalMs must be a positive whole number of milliseconds, got ${intervalMs}`,
    );
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`keepaliveCountMax must be a whole number of at least 1, got ${count}`);
  }
  return { intervalMs, ssh2CountMax: count - 1, detectionMs: intervalMs * count };
}

/** "45 s (15 s × 3)": the detection time as the docs and messages say it. */
export function describeDetection(s: KeepaliveSettings): string {
  const sec = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;
  return `${sec(s.detectionMs)} (${sec(s.intervalMs)} × ${s.ssh2CountMax + 1})`;
}
