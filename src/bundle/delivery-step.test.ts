/**
 * Where the bundle's delivery goes in the runbook's graph: before umetal.package-source, on
 * the same hosts, after what that step waited for; and what it checks on a host. The push
 * itself runs on lab hosts in test/integration/runbook-bundle-delivery.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createBundle,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  verifyBundle,
  type VerifyReport,
} from './index.js';
import { checkGraph } from '../engine/graph.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import {
  BUNDLE_STEP_ID,
  BUNDLE_VERIFIED_MARKER,
  PACKAGE_SOURCE_STEP_ID,
  withBundleDelivery,
} from './delivery-step.js';
import { stepSpecsFor } from '../render/step-specs.js';

let work: string;
let plan: Plan;
let report: VerifyReport;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ustart-bundle-step-'));
  plan = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  await mkdir(join(work, 'runbook'));
  await writeFile(join(work, 'runbook', 'runbook.yaml'), 'steps: []\n');
  await writeFile(join(work, 'notes.txt'), 'site notes\n');
  await generateKeyPair(join(work, 'signing'));
  await createBundle({
    plan,
    out: join(work, 'bundle'),
    privateKey: await loadPrivateKey(join(work, 'signing.key')),
    onlyAdded: true,
    architecture: 'amd64',
    runbookDir: join(work, 'runbook'),
    add: [{ kind: 'file', path: join(work, 'notes.txt') }],
  });
  report = await verifyBundle(join(work, 'bundle'), await loadPublicKey(join(work, 'signing.pub')));
  expect(report.ok).toBe(true);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('puts the delivery before package-source, on its hosts, and makes package-source wait', async () => {
  const plain = await stepSpecsFor(plan, { phases: ['connect', 'umetal'] });
  const steps = withBundleDelivery(plain, report);
  checkGraph(steps);
  expect(steps).toHaveLength(plain.length + 1);
  const at = steps.findIndex((s) => s.id === BUNDLE_STEP_ID);
  const source = steps[at + 1]!;
  const delivery = steps[at]!;
  const before = plain.find((s) => s.id === PACKAGE_SOURCE_STEP_ID)!;
  expect(source.id).toBe(PACKAGE_SOURCE_STEP_ID);
  expect(source.after).toEqual([...(before.after ?? []), BUNDLE_STEP_ID]);
  expect(delivery).toMatchObject({ phase: 'umetal', targets: before.targets, sudo: true });
  // After the connect phase, as package-source was.
  expect(delivery.after).toEqual(before.after);
  expect(typeof delivery.local).toBe('function');
  // The check compares the host's marker and bundle.json with this bundle's manifest.
  const sha = createHash('sha256').update(report.manifestBytes!).digest('hex');
  expect(delivery.check).toContain(`${BUNDLE_VERIFIED_MARKER}`);
  expect(delivery.check!.match(new RegExp(sha, 'g'))).toHaveLength(2);
  expect(delivery.description).toContain(report.manifest!.digest);
});

it('leaves a graph without uMetal, or a run without a bundle, as it is', async () => {
  const connect = await stepSpecsFor(plan, { phases: ['connect'] });
  expect(withBundleDelivery(connect, report)).toEqual(connect);
  const umetal = await stepSpecsFor(plan, { phases: ['umetal'] });
  expect(withBundleDelivery(umetal, undefined)).toEqual(umetal);
  // Given twice (a resume of a graph that has it), it is there once.
  const once = withBundleDelivery(umetal, report);
  expect(withBundleDelivery(once, report).filter((s) => s.id === BUNDLE_STEP_ID)).toHaveLength(1);
});
