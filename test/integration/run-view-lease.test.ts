/**
 * The Install page's stream (renderer RunClient) against the real run service, with a page
 * too busy to acknowledge for longer than the attachment's lease (a loaded machine, a
 * hidden tab): the core lets go of the attachment so the hosts are not held back, and the
 * page must learn that and attach again from the last sequence number it saw, instead of
 * showing "running" for ever. Commands run as local processes (test/support/local-transport).
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { RunClient } from '../../renderer/src/install/run-client.js';
import { hostKey, useRunStore } from '../../renderer/src/state/run-store.js';
import { unwrap, type ApiClient } from '../../src/api/index.js';
import { createCore, type Core } from '../../src/app/core.js';
import type { StepSpec } from '../../src/engine/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { assetPath } from '../../src/util/assets.js';
import { LocalTransport } from '../support/local-transport.js';

let work: string;
let core: Core;
let client: RunClient | undefined;
let steps: StepSpec[];
const planFile = () => join(work, 'site.yaml');

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'ustart-view-lease-'));
  await copyFile(assetPath('samples', 'demo-stuttgart.yaml'), planFile());
  const transport = new LocalTransport();
  core = createCore({
    mode: 'test',
    stateDir: join(work, '.state'),
    hostPages: {
      stepSource: async () => steps,
      runTransport: async () => transport,
      clusterLock: false,
      retryDelayMs: () => 0,
      leaseMs: 300,
      // A small window, so a page that stops acknowledging holds the hosts back at once.
      flow: { high: 20_000, low: 2_000 },
    },
  });
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  await core.dispose();
  await rm(work, { recursive: true, force: true });
});

/** The api as a busy page uses it: its acknowledgements wait while `busy` is set. */
function busyPage(api: ApiClient): { busy: boolean; api: ApiClient; release(): void } {
  let held: (() => void)[] = [];
  const page: { busy: boolean; api: ApiClient; release(): void } = {
    busy: false,
    api: {
      ...api,
      runAck: (input: Parameters<ApiClient['runAck']>[0]) =>
        page.busy
          ? new Promise((resolve) => held.push(() => void api.runAck(input).then(resolve)))
          : api.runAck(input),
    } as ApiClient,
    release() {
      page.busy = false;
      for (const send of held.splice(0)) send();
      held = [];
    },
  };
  return page;
}

it('a page dropped for not acknowledging attaches again and shows the whole run', async () => {
  const plan = (await loadPlanFile(planFile())).plan!;
  const hosts = plan.servers.slice(0, 6).map((s) => s.hostname);
  // Several steps logging at once on 6 hosts, as uMetal's package steps do.
  steps = ['first', 'second'].map((id, i) => ({
    id,
    title: id,
    phase: 'connect' as const,
    targets: hosts,
    ...(i ? { after: ['first'] } : {}),
    run: 'for i in $(seq 1 1500); do echo "$HOST: line $i of a step that logs a lot"; done',
  }));
  const page = busyPage(core.client);
  client = new RunClient(page.api);
  const detached: string[] = [];
  const offDetached = core.client.on('run:detached', (d) => detached.push(d.attachId));
  const { runId } = unwrap(
    await core.client.runStart({ planFile: planFile(), phases: ['connect'] }),
  );
  const ended = new Promise<void>((resolve) => {
    const off = core.client.on('run:changed', (e) => {
      if (e.runId === runId && e.state !== 'running') {
        off();
        resolve();
      }
    });
  });
  page.busy = true;
  await client.open(planFile(), runId);
  // The busy page holds nobody back: the run ends while it acknowledges nothing.
  await ended;
  page.release();
  offDetached();

  await expect
    .poll(() => useRunStore.getState().view?.state, { timeout: 20_000 })
    .toBe('succeeded');
  // It was let go of at least once (else this test proved nothing).
  expect(detached.length).toBeGreaterThan(0);
  expect(client.stats.gaps).toBe(0);
  expect(client.stats.complete).toBe(true);
  for (const s of steps) {
    for (const h of hosts) {
      const file = unwrap(
        await core.client.runLog({
          planFile: planFile(),
          runId,
          stepId: s.id,
          host: h,
          maxBytes: 4_194_304,
        }),
      );
      expect(file.data).toContain(`${h}: line 1500 of a step`);
      expect(client.logOf(s.id, h).text()).toBe(file.data);
      expect(useRunStore.getState().view?.hosts[hostKey(s.id, h)]?.state).toBe('succeeded');
    }
  }
}, 60_000);
