/**
 * The end of an install through the core, against the demo lab (the real engine, runbook and
 * SSH client; simulated servers): before the install nothing can be handed over; after the
 * three phases the summary has the workload cluster's API address read from the first
 * controller, the kubeconfigs and clouds.yaml come down on request (0600 when written to a
 * file), a Secret's values come only on reveal, and none of them is in the run's journal,
 * its logs, the summary or the report.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app/index.js';
import type { DemoSession } from '../../src/demo/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { startDemoCore } from '../support/demo-core.js';
import { runCli } from '../support/run-cli.js';

let top: string;
let session: DemoSession;
let core: Core;

beforeAll(async () => {
  top = await mkdtemp(join(tmpdir(), 'ustart-handover-'));
  ({ session, core } = await startDemoCore(top, { speed: 2000 }));
}, 60_000);

afterAll(async () => {
  await core?.dispose();
  await session?.dispose();
  if (top) await rm(top, { recursive: true, force: true });
});

function value<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** Every file below `dir`, concatenated (the run's journal and step logs). */
async function allText(dir: string): Promise<string> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(await readFile(join(e.parentPath, e.name), 'utf8'));
  }
  return out.join('\n');
}

describe('the install summary of a demo install', () => {
  it('hands over nothing before the install: the file is not on the first controller yet', async () => {
    const r = await core.client.handoverDownload({
      planFile: session.planFile,
      item: 'admin-kubeconfig',
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('HandoverUnavailable');
      expect(r.error.message).toContain('/etc/kubernetes/admin.conf');
    }
  });

  it('after the three phases: endpoints, downloads, reveal — and no secret in the journal, logs or report', async () => {
    const planFile = session.planFile;
    const ended = new Promise<string>((resolve) => {
      const off = core.client.on('run:changed', (e) => {
        if (e.state !== 'running') {
          off();
          resolve(e.state);
        }
      });
    });
    const { runId } = value(
      await core.client.runStart({ planFile, phases: ['umetal', 'ustack', 'ugarden'] }),
    );
    expect(await ended).toBe('succeeded');

    const summary = value(await core.client.handoverSummary({ planFile, runId }));
    expect(summary.state).toBe('succeeded');
    expect(summary.demo).toBe(true);
    expect(summary.durationMs).toBeGreaterThan(0);
    expect(summary.endpoints.every((e) => e.installed)).toBe(true);
    const garden = summary.endpoints.find((e) => e.id === 'garden-api')!;
    expect(garden.url).toBe('https://198.51.100.20:6443');

    // The workload cluster's kubeconfig: the shape clusterctl gives, pointing at that address.
    const kc = value(await core.client.handoverDownload({ planFile, item: 'garden-kubeconfig' }));
    const { plan } = await loadPlanFile(planFile);
    expect(kc.fileName).toBe(`${plan!.site.name}-garden-01.kubeconfig`);
    expect(kc.text).toMatch(/^apiVersion: v1\nkind: Config\n/);
    expect(kc.text).toContain('server: https://198.51.100.20:6443');
    expect(kc.text).toContain('client-key-data: ');

    // Written by the core, a secret file is private.
    const out = join(top, 'admin.kubeconfig');
    const saved = value(
      await core.client.handoverDownload({ planFile, item: 'admin-kubeconfig', file: out }),
    );
    expect(saved.file).toBe(out);
    expect(saved.text).toBeUndefined();
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(await readFile(out, 'utf8')).toContain(
      `server: https://${plan!.kubernetes.controlPlaneVip}:6443`,
    );

    // A Secret's values only on reveal; clouds.yaml carries the same password.
    const grafana = value(await core.client.handoverReveal({ planFile, secret: 'grafana-admin' }));
    expect(grafana).toMatchObject({ namespace: 'monitoring', name: 'grafana-admin' });
    expect(Object.keys(grafana.values)).toEqual(['admin-user', 'admin-password']);
    const keystone = value(
      await core.client.handoverReveal({ planFile, secret: 'keystone-admin' }),
    );
    const password = keystone.values.OS_PASSWORD!;
    expect(password.length).toBeGreaterThan(8);
    const clouds = value(await core.client.handoverDownload({ planFile, item: 'clouds-yaml' }));
    expect(clouds.text).toContain(`password: '${password}'`);
    expect(clouds.text).toContain(`auth_url: https://keystone.${plan!.site.domain}/v3`);
    const ca = value(await core.client.handoverDownload({ planFile, item: 'root-ca' }));
    expect(ca.text).toMatch(/^-----BEGIN CERTIFICATE-----\n/);

    // Nothing secret went anywhere it stays: not the summary, the report, the run's files.
    const secrets = [password, grafana.values['admin-password']!];
    const report = value(
      await core.client.reportRender({ plan: plan!, lang: 'en', run: { planFile, runId } }),
    ).html;
    expect(report).toContain('id="install-summary"');
    expect(report).toContain('https://198.51.100.20:6443');
    const runFiles = await allText(join(session.workspace, '.ustart'));
    for (const s of secrets) {
      expect(JSON.stringify(summary)).not.toContain(s);
      expect(report).not.toContain(s);
      expect(runFiles).not.toContain(s);
    }
  }, 120_000);

  it('`ustart demo` ends on the same summary in the terminal: addresses and credential places, no secret', async () => {
    const dir = join(top, 'cli-demo');
    const { code, out } = await runCli('demo', '--speed', '2000', '--dir', dir);
    expect(code).toBe(0);
    const { plan } = await loadPlanFile(join(dir, 'demo-stuttgart.yaml'));
    const tail = out.slice(out.indexOf('[DEMO] Install summary: run '));
    expect(tail).toMatch(
      /^\[DEMO\] Install summary: run \S+, succeeded, umetal, ustack, ugarden, \d+ s/,
    );
    expect(tail).toContain(
      `Kubernetes API (uMetal, control-plane VIP): https://${plan!.kubernetes.controlPlaneVip}:6443`,
    );
    expect(tail).toContain('Workload cluster API (uGarden): https://198.51.100.20:6443');
    expect(tail).toContain('/etc/kubernetes/admin.conf on ctl-01 (mode 0600)');
    expect(tail).toContain('Secret yaook/keystone-admin (keys OS_USERNAME, OS_PASSWORD');
    // The terminal gets places only: no value of a Secret or a kubeconfig.
    expect(tail).not.toMatch(/password: |OS_PASSWORD=|client-key-data/);
  }, 120_000);
});
