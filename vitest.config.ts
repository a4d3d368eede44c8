import { defineConfig } from 'vitest/config';

// vitest 5 declares Node 22 and its reporter calls Map.groupBy / Object.groupBy (Node 21+)
// when it prints failures; on Node 20 that crash hides which test failed. The config is
// loaded in vitest's main process, so defining them here is enough.
type GroupBy = <K, T>(items: Iterable<T>, key: (item: T, index: number) => K) => Map<K, T[]>;
if (!('groupBy' in Map)) {
  const groupBy: GroupBy = (items, key) => {
    const groups = new Map();
    let i = 0;
    for (const item of items) {
      const k = key(item, i++);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(item);
    }
    return groups;
  };
  Object.defineProperty(Map, 'groupBy', { value: groupBy, configurable: true, writable: true });
  Object.defineProperty(Object, 'groupBy', {
    value: <T>(items: Iterable<T>, key: (item: T, index: number) => PropertyKey) =>
      Object.fromEntries(groupBy(items, key)),
    configurable: true,
    writable: true,
  });
}

/**
 * The longest lab tests: whole phases on six lab hosts, each minutes of real apt, sshd and
 * doubles. Run beside the rest, or beside each other, on a 2-core machine they starve and
 * their steps run into hang guards; so they run as a group of their own (groupOrder: vitest
 * runs one group, then the next), one file at a time, never beside other test files.
 * The QEMU guests' test is here for the same reason: two emulated CPUs (TCG) keep both cores
 * busy for about a minute.
 */
const WHOLE_PHASES = [
  'test/integration/runbook-umetal.test.ts',
  'test/integration/runbook-ustack-ugarden.test.ts',
  'test/integration/runbook-bundle-delivery.test.ts',
  'test/e2e/install-umetal.test.ts',
  'test/integration/host-network-vlan-qemu.test.ts',
  'test/integration/os-install-iso-qemu.test.ts',
];

export default defineConfig({
  test: {
    // Integration tests each create their own test lab (own subnets and namespaces), so files
    // may run at once.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Vitest's default in a run is one worker less than the cores: one file at a time on this
    // two-core CI. Most files wait on processes, sshd and lab networks rather than compute, so
    // three at once finish the main group sooner (the whole-phase files still run alone).
    maxWorkers: 3,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'renderer/**/*.test.{ts,tsx}'],
          exclude: WHOLE_PHASES,
          fileParallelism: true,
        },
      },
      {
        extends: true,
        test: {
          name: 'whole-phases',
          include: WHOLE_PHASES,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
