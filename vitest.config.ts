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

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'renderer/**/*.test.{ts,tsx}'],
    // Integration tests share one test lab (network namespaces, sshd): files run one at a
    // time there, so two tests never fight over a lab.
    fileParallelism: true,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
