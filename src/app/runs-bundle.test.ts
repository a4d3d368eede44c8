/**
 * An air-gapped site installs from a verified offline bundle, given in the Install page's
 * bundle fields as `ustart run --bundle --bundle-key` takes it: refused without one (saying
 * where to give it), refused with one signed by another key, started with a real signed
 * bundle; a retry reuses it, and a resume in a new session needs it again.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../test/support/local-transport.js';
import { unwrap, type RunBundle } from '../api/index.js';
import { createBundle, generateKeyPair, loadPrivateKey } from '../bundle/index.js';
import type { StepSpec } from '../engine/index.js';
import { loadPlanFile } from '../plan/load.js';
import { assetPath } from '../util/assets.js';
import { createCore, type Core } from './core.js';

let work: string;
const cores: Core[] = [];
let bundle: RunBundle;
let foreign: RunBundle;
const planFile = () => join(work, 'site.yaml');

/** One step of an install phase that fails until the file `fixed` exists. */
const steps: StepSpec[] = [
  {
    id: 'umetal.probe',
    title: 'Probe',
    phase: 'umetal',
    targets: ['__first__'],
    run: 'test -e "$WORK/fixed" && echo installed',
  },
];

function newCore(): Core {
  const transport = new LocalTransport({ env: { WORK: work } });
  const core = createCore({
    mode: 'test',
    stateDir: join(work, '.state'),
    hostPages: {
      stepSource: async () => steps,
      runTransport: async () => transport,
      clusterLock: false,
      retryDelayMs: () => 0,
    },
  });
  cores.push(core);
  return core;
}

function ended(core: Core, runId: string): Promise<string> {
  return new Promise((resolve) => {
    const off = core.client.on('run:changed', (e) => {
      if (e.runId === runId && e.state !== 'running') {
        off();
        resolve(e.state);
      }
    });
  });
}

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'ustart-runs-bundle-'));
  const text = await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8');
  await writeFile(planFile(), text.replace(/^ {2}airGapped: false$/m, '  airGapped: true'));
  const { plan } = await loadPlanFile(planFile());
  expect(plan!.site.airGapped).toBe(true);
  steps[0]!.targets = [plan!.servers[0]!.hostname];
  // A real signed bundle of one file for the plan's OS, and a key that did not sign it.
  await mkdir(join(work, 'runbook'));
  await writeFile(join(work, 'runbook', 'runbook.yaml'), 'steps: []\n');
  await writeFile(join(work, 'notes.txt'), 'site notes\n');
  await generateKeyPair(join(work, 'signing'));
  await generateKeyPair(join(work, 'other'));
  await createBundle({
    plan: plan!,
    out: join(work, 'bundle.tar'),
    privateKey: await loadPrivateKey(join(work, 'signing.key')),
    onlyAdded: true,
    architecture: 'amd64',
    runbookDir: join(work, 'runbook'),
    add: [{ kind: 'file', path: join(work, 'notes.txt') }],
  });
  bundle = { path: join(work, 'bundle.tar'), publicKey: join(work, 'signing.pub') };
  foreign = { ...bundle, publicKey: join(work, 'other.pub') };
});

afterEach(async () => {
  for (const c of cores.splice(0)) await c.dispose();
  await rm(work, { recursive: true, force: true });
});

describe('an air-gapped install and its offline bundle', () => {
  it('refuses without a bundle or with a foreign key, runs with it, retries from it', async () => {
    const core = newCore();
    const start = { planFile: planFile(), phases: ['umetal'], pauseOnFailure: false };

    const missing = await core.client.runStart(start);
    expect(missing.ok).toBe(false);
    if (!missing.ok) {
      expect(missing.error.code).toBe('BundleRequired');
      expect(missing.error.message).toContain('Install → Offline bundle');
    }
    const signedElsewhere = await core.client.runStart({ ...start, bundle: foreign });
    expect(signedElsewhere.ok).toBe(false);
    if (!signedElsewhere.ok) expect(signedElsewhere.error.code).toBe('BundleSignature');
    // Connecting installs nothing: no bundle needed.
    expect((await core.client.runSteps({ planFile: planFile(), phases: ['connect'] })).ok).toBe(
      true,
    );

    const { runId } = unwrap(await core.client.runStart({ ...start, bundle }));
    expect(await ended(core, runId)).toBe('failed');
    await writeFile(join(work, 'fixed'), '');
    // A retry after the end is a resume: it installs from the bundle the start was given.
    const host = steps[0]!.targets as string[];
    const retried = unwrap(
      await core.client.runRetry({
        planFile: planFile(),
        runId,
        stepId: 'umetal.probe',
        host: host[0]!,
      }),
    );
    expect(await ended(core, retried.runId)).toBe('succeeded');
  });

  it('asks a new session for the bundle again when resuming', async () => {
    const first = newCore();
    const { runId } = unwrap(
      await first.client.runStart({
        planFile: planFile(),
        phases: ['umetal'],
        pauseOnFailure: false,
        bundle,
      }),
    );
    expect(await ended(first, runId)).toBe('failed');
    await writeFile(join(work, 'fixed'), '');

    const later = newCore();
    const refused = await later.client.runResume({ planFile: planFile(), runId });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.code).toBe('BundleRequired');
    const resumed = unwrap(await later.client.runResume({ planFile: planFile(), runId, bundle }));
    expect(await ended(later, resumed.runId)).toBe('succeeded');
  });
});
