/**
 * A finished run on local processes standing in for hosts (test/support/local-transport.ts):
 * run folders for the tests of what reads them (`ustart runs`, `ustart logs`, the CLI's run
 * view), so those tests build no engine or transport of their own.
 */
import type { RunEvent, RunResult, StepSpec } from '../../src/engine/index.js';
import { RunEngine } from '../../src/engine/index.js';
import { LocalTransport } from './local-transport.js';

/** Runs `steps` on local hosts named `hosts` (no cluster lock) into `runsDir`. */
export async function localRun(o: {
  runsDir: string;
  steps: readonly StepSpec[];
  hosts: readonly string[];
  onEvent?: (e: RunEvent) => void;
}): Promise<RunResult> {
  const transport = new LocalTransport();
  const hosts = new Map(
    o.hosts.map((name) => [name, { name, address: '127.0.0.1', port: 22, user: 'root' }]),
  );
  const engine = new RunEngine({
    transport,
    runsDir: o.runsDir,
    steps: o.steps,
    hosts,
    resolveTargets: () => [...hosts.keys()],
    clusterLock: false,
  });
  const sub = o.onEvent ? engine.subscribe(o.onEvent) : undefined;
  try {
    return await engine.run();
  } finally {
    sub?.dispose();
    await transport.dispose();
  }
}
