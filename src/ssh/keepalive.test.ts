import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KEEPALIVE_COUNT,
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  describeDetection,
  keepaliveSettings,
} from './keepalive.js';

describe('keepalive settings', () => {
  it('notices a dead link within 15 s × 3 = 45 s by default, as the docs say', async () => {
    const s = keepaliveSettings();
    expect([DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_KEEPALIVE_COUNT]).toEqual([15_000, 3]);
    expect(s).toEqual({ intervalMs: 15_000, ssh2CountMax: 2, detectionMs: 45_000 });
    expect(describeDetection(s)).toBe('45 s (15 s × 3)');
    // The figure the docs promise is the one the code sets.
    const ssh = await readFile(new URL('../../docs/ssh.md', import.meta.url), 'utf8');
    const engine = await readFile(new URL('../../docs/engine.md', import.meta.url), 'utf8');
    expect(ssh).toContain('Keepalive 15 s × 3');
    expect(ssh).toContain('within 45 s');
    expect(engine).toContain('within 45 s');
  });

  it('gives ssh2 one less than the count, so it ends count intervals after the last answer', () => {
    // ssh2 gives up on the tick where its counter exceeds keepaliveCountMax: (max + 1) ticks.
    for (const [intervalMs, count] of [
      [1000, 3],
      [500, 1],
      [20_000, 5],
    ] as const) {
      const s = keepaliveSettings({ keepaliveIntervalMs: intervalMs, keepaliveCountMax: count });
      expect(s.ssh2CountMax + 1).toBe(count);
      expect(s.detectionMs).toBe(intervalMs * (s.ssh2CountMax + 1));
    }
    expect(
      describeDetection(keepaliveSettings({ keepaliveIntervalMs: 1500, keepaliveCountMax: 2 })),
    ).toBe('3 s (1.5 s × 2)');
  });

  it('refuses settings that would never notice, or notice at once', () => {
    expect(() => keepaliveSettings({ keepaliveCountMax: 0 })).toThrow(/keepaliveCountMax/);
    expect(() => keepaliveSettings({ keepaliveIntervalMs: 0 })).toThrow(/keepaliveIntervalMs/);
    expect(() => keepaliveSettings({ keepaliveIntervalMs: 1.5 })).toThrow(/whole number/);
  });
});
