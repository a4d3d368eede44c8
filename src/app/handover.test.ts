import { beforeAll, describe, expect, it } from 'vitest';
import { allocateAddresses } from '../plan/ipam.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import {
  assembleSummary,
  cloudsYaml,
  firstController,
  summaryRunOf,
  type SummaryRun,
} from './handover.js';
import type { RunEvent } from '../engine/index.js';
import { formatDuration } from './report-install.js';
import { renderReport } from './report.js';
import { capacityView } from './views.js';

let demo: Plan;
beforeAll(async () => {
  demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
});

/** A finished run with these phases, every step in `state`. */
function run(phases: string[], state: 'succeeded' | 'failed' = 'succeeded'): SummaryRun {
  return {
    runId: 'r-2026-12-03T10-00-00',
    state,
    startedAt: Date.UTC(2026, 11, 3, 10, 0, 0),
    finishedAt: Date.UTC(2026, 11, 3, 10, 3, 7),
    demo: true,
    steps: phases.map((phase) => ({ phase, state })),
  };
}

const byId = (s: ReturnType<typeof assembleSummary>, id: string) =>
  s.endpoints.find((e) => e.id === id)!;

describe('the install summary', () => {
  it('names every endpoint of the three phases at the plan’s addresses', () => {
    const s = assembleSummary({
      planFile: '/w/site.yaml',
      plan: demo,
      run: run(['umetal', 'ustack', 'ugarden']),
      gardenApi: { address: '198.51.100.20' },
    });
    const vip = demo.kubernetes.controlPlaneVip;
    const d = demo.site.domain;
    expect(Object.fromEntries(s.endpoints.map((e) => [e.id, e.url]))).toEqual({
      'kubernetes-api': `https://${vip}:6443`,
      grafana: `http://${vip}:30300/`,
      logs: `http://${vip}:30300/explore`,
      prometheus: `http://${vip}:30090/`,
      alertmanager: `http://${vip}:30093/`,
      keystone: `https://keystone.${d}/v3`,
      horizon: `https://horizon.${d}/`,
      git: 'http://gitea-http.ustart-git.svc.cluster.local:3000/ustart/garden.git',
      flux: 'http://gitea-http.ustart-git.svc.cluster.local:3000/ustart/garden.git',
      'garden-api': 'https://198.51.100.20:6443',
    });
    expect(s.endpoints.every((e) => e.installed)).toBe(true);
    expect(s.durationMs).toBe(187_000);
    expect(formatDuration(s.durationMs!)).toBe('3 min 07 s');
    expect(s.phases).toEqual(['umetal', 'ustack', 'ugarden']);
    expect(s.firstController.host).toBe(firstController(demo).hostname);
  });

  it('says where each credential lives: a Secret by namespace and name, or a 0600 file on the first controller', () => {
    const s = assembleSummary({
      planFile: '/w/site.yaml',
      plan: demo,
      run: run(['umetal', 'ustack', 'ugarden']),
    });
    const host = firstController(demo).hostname;
    expect(byId(s, 'kubernetes-api').credentials).toEqual([
      {
        kind: 'file',
        host,
        path: '/etc/kubernetes/admin.conf',
        mode: '0600',
        download: 'admin-kubeconfig',
      },
    ]);
    expect(byId(s, 'grafana').credentials).toEqual([
      {
        kind: 'secret',
        cluster: 'management',
        namespace: 'monitoring',
        name: 'grafana-admin',
        keys: ['admin-user', 'admin-password'],
        reveal: 'grafana-admin',
      },
    ]);
    expect(
      byId(s, 'keystone').credentials.map((c) => c.kind === 'secret' && `${c.namespace}/${c.name}`),
    ).toEqual(['yaook/keystone-admin', 'yaook/root-ca']);
    expect(byId(s, 'git').inCluster?.command).toContain('port-forward svc/gitea-http');
    const garden = byId(s, 'garden-api');
    expect(garden.credentials).toContainEqual({
      kind: 'secret',
      cluster: 'management',
      namespace: 'garden',
      name: `${demo.site.name}-garden-01-kubeconfig`,
      keys: ['value'],
    });
    expect(garden.credentials).toContainEqual(
      expect.objectContaining({ path: '/var/lib/ustart/out/garden-kubeconfig.yaml', mode: '0600' }),
    );
    // Without the address read from the site, the garden API has no URL, and says nothing false.
    expect(garden.url).toBeNull();
    expect(s.downloads.map((d) => [d.item, d.fileName, d.secret])).toEqual([
      ['admin-kubeconfig', `${demo.site.name}-admin.kubeconfig`, true],
      ['garden-kubeconfig', `${demo.site.name}-garden-01.kubeconfig`, true],
      ['clouds-yaml', 'clouds.yaml', true],
      ['root-ca', `${demo.site.name}-root-ca.crt`, false],
    ]);
  });

  it('marks what a run did not install: phases it did not have, or did not finish', () => {
    const umetalOnly = assembleSummary({
      planFile: '/w/site.yaml',
      plan: demo,
      run: run(['umetal']),
    });
    expect(umetalOnly.phases).toEqual(['umetal']);
    expect(umetalOnly.endpoints.filter((e) => e.installed).map((e) => e.phase)).toEqual(
      Array(5).fill('umetal'),
    );
    expect(umetalOnly.downloads.filter((d) => d.available).map((d) => d.item)).toEqual([
      'admin-kubeconfig',
    ]);
    const failed = assembleSummary({
      planFile: '/w/site.yaml',
      plan: demo,
      run: run(['umetal', 'ustack'], 'failed'),
      gardenApi: { address: null, problem: 'not there' },
    });
    expect(failed.endpoints.some((e) => e.installed)).toBe(false);
    expect(byId(failed, 'garden-api')).toMatchObject({ url: null, problem: 'not there' });
  });

  it('folds a run’s events into what the summary needs (ustart demo watches the run live)', () => {
    const base = { runId: 'r1', seq: 0 };
    const counts = {
      pending: 0,
      running: 0,
      succeeded: 1,
      failed: 0,
      skipped: 0,
      cancelled: 0,
      'connection-lost': 0,
      unknown: 0,
    };
    const step = (id: string, phase: string) => ({
      id,
      title: id,
      phase,
      hosts: ['ctl-01'],
      after: [],
    });
    const events: RunEvent[] = [
      {
        ...base,
        time: 1000,
        type: 'run-started',
        demo: true,
        runDir: '/r',
        resumed: false,
        steps: [
          step('umetal.a', 'umetal'),
          step('ustack.b', 'ustack'),
          step('ugarden.c', 'ugarden'),
        ],
      },
      {
        ...base,
        time: 2000,
        type: 'step-finished',
        stepId: 'umetal.a',
        state: 'succeeded',
        counts,
      },
      { ...base, time: 2500, type: 'step-skipped', stepId: 'ustack.b', reason: 'done before' },
      { ...base, time: 3000, type: 'run-finished', state: 'failed', counts },
    ];
    const folded = summaryRunOf(events)!;
    expect(folded).toEqual({
      runId: 'r1',
      state: 'failed',
      demo: true,
      startedAt: 1000,
      finishedAt: 3000,
      steps: [
        { phase: 'umetal', state: 'succeeded' },
        { phase: 'ustack', state: 'skipped' },
        { phase: 'ugarden', state: 'pending' },
      ],
    });
    const s = assembleSummary({ planFile: '/w/site.yaml', plan: demo, run: folded });
    expect([...new Set(s.endpoints.filter((e) => e.installed).map((e) => e.phase))]).toEqual([
      'umetal',
      'ustack',
    ]);
    expect(summaryRunOf([])).toBeUndefined();
  });

  it('builds clouds.yaml as the runbook does, each value quoted for YAML', () => {
    const text = cloudsYaml(
      demo,
      {
        OS_USERNAME: 'yaook-sys-maint',
        OS_PASSWORD: "it's:#\\x",
        OS_PROJECT_NAME: 'admin',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
      },
      'site-root-ca.crt',
    );
    expect(text).toContain(`auth_url: https://keystone.${demo.site.domain}/v3`);
    expect(text).toContain("password: 'it''s:#\\x'");
    expect(text).toContain(`region_name: '${demo.openstack.region}'`);
    expect(text).toContain("cacert: 'site-root-ca.crt'");
    expect(() => cloudsYaml(demo, { OS_USERNAME: 'u' }, 'ca.crt')).toThrow(/has no OS_PASSWORD/);
  });
});

describe('handover report: capacity and install summary', () => {
  const report = (lang: 'en' | 'de', withRun: boolean) =>
    renderReport({
      plan: demo,
      lang,
      findings: [],
      ipPlan: allocateAddresses(demo).summary,
      capacity: capacityView(demo),
      ...(withRun
        ? {
            install: assembleSummary({
              planFile: '/w/site.yaml',
              plan: demo,
              run: run(['umetal', 'ustack', 'ugarden']),
              gardenApi: { address: '198.51.100.20' },
            }),
          }
        : {}),
      generatedAt: new Date('2026-12-03T12:00:00Z'),
    });
  const section = (html: string, id: string) => {
    const start = html.indexOf(`<h2 id="${id}">`);
    expect(start, id).toBeGreaterThan(0);
    return html.slice(start, html.indexOf('<h2', start + 1));
  };

  it('has the capacity section with the figures of Review, and the rack-loss line', () => {
    const cap = capacityView(demo);
    const html = section(report('en', false), 'capacity');
    expect(html).toContain(`<td>Whole site</td><td>${cap.vcpu}</td>`);
    if (cap.rackLoss) expect(html).toContain(`Worst rack lost (${cap.rackLoss.rack})`);
    for (const p of cap.power) expect(html).toContain(`<td>${p.rack}</td>`);
    expect(section(report('de', false), 'capacity')).toContain('Kapazität');
  });

  it('has the install summary only for a run: endpoints, credential places, files, duration', () => {
    expect(report('en', false)).not.toContain('id="install-summary"');
    const html = section(report('en', true), 'install-summary');
    expect(html).toContain('3 min 07 s');
    expect(html).toContain('https://198.51.100.20:6443');
    expect(html).toContain('Secret monitoring/grafana-admin (keys admin-user, admin-password)');
    expect(html).toContain('/etc/kubernetes/admin.conf on ');
    expect(html).toContain('clouds.yaml');
    expect(html).toContain('Demo run');
    const de = section(report('de', true), 'install-summary');
    expect(de).toContain('Installationsübersicht');
    expect(de).toContain('Wo die Zugangsdaten liegen');
  });
});
