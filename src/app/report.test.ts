import { beforeAll, describe, expect, it } from 'vitest';
import { allocateAddresses } from '../plan/ipam.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import { renderReport, type ReportLang } from './report.js';

let demo: Plan;
beforeAll(async () => {
  demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
});

const NAMES = ['keystone', 'glance', 'nova', 'placement', 'novnc', 'neutron', 'cinder', 'horizon'];
const D = 'cloud.musterbau.example';

function report(plan: Plan, lang: ReportLang = 'en'): string {
  return renderReport({
    plan,
    lang,
    findings: [],
    ipPlan: allocateAddresses(plan).summary,
    generatedAt: new Date('2026-01-02T03:04:05Z'),
  });
}

/** The endpoint names section, up to the next heading. */
function namesSection(html: string): string {
  const start = html.indexOf('<h2 id="endpoint-names">');
  expect(start).toBeGreaterThan(0);
  return html.slice(start, html.indexOf('<h2>', start + 1));
}

describe('handover report: OpenStack endpoint names', () => {
  it('lists every endpoint name as an A record on the public VIP, with what answers there', () => {
    const section = namesSection(report(demo));
    const rows = [...section.matchAll(/<tr><td>([^<]+)<\/td><td>A<\/td><td>([^<]+)<\/td>/g)];
    expect(rows.map((m) => [m[1], m[2]])).toEqual(NAMES.map((n) => [`${n}.${D}`, '203.0.113.5']));
    expect(section).toContain('Horizon, the dashboard');
  });

  it('for hosts-file (a PoC by default) gives the lines for a laptop’s own hosts file', () => {
    const section = namesSection(report(demo));
    expect(section).toContain('Mode hosts-file');
    const pre = /<pre class="hosts">([^<]*)<\/pre>/.exec(section)?.[1];
    expect(pre?.split('\n')).toEqual(NAMES.map((n) => `203.0.113.5\t${n}.${D}`));
  });

  it('for site-dns (a production site by default) says the DNS holds them and lists no lines', () => {
    const plan = structuredClone(demo);
    plan.site.environment = 'production';
    const section = namesSection(report(plan));
    expect(section).toContain('Mode site-dns');
    expect(section).toContain('preflight-endpoint-dns');
    expect(section).not.toContain('<pre');
    plan.openstack.endpointDns = 'hosts-file';
    expect(namesSection(report(plan))).toContain('Mode hosts-file');
  });

  it('says where the root CA lives and where uStart installs it on each server, in both languages', () => {
    for (const lang of ['en', 'de'] as const) {
      const section = namesSection(report(demo, lang));
      expect(section).toContain('yaook/root-ca');
      expect(section).toContain('tls.crt');
      expect(section).toContain('/usr/local/share/ca-certificates/ustart-demo-stuttgart.crt');
    }
    expect(namesSection(report(demo, 'de'))).toContain('Namen der OpenStack-Endpunkte');
  });

  it('escapes what comes from the plan', () => {
    const plan = structuredClone(demo);
    plan.site.name = 'a<b>';
    expect(namesSection(report(plan))).toContain('ustart-a&lt;b&gt;.crt');
  });
});

describe('handover report: findings', () => {
  it('shows an accepted warning as accepted, with its reason and who accepted it', () => {
    const html = renderReport({
      plan: demo,
      lang: 'de',
      findings: [
        {
          rule: 'rack-loss-quorum',
          severity: 'warning',
          path: '/servers/0/rack',
          message: 'losing rack R01 stops the control plane',
          hint: 'Place the controllers one per rack',
          acknowledged: { reason: 'Rack <R03> kommt in Q3', by: 'J. Berater' },
        },
      ],
      ipPlan: allocateAddresses(demo).summary,
      generatedAt: new Date('2026-01-02T03:04:05Z'),
    });
    expect(html).toContain(
      '<li class="accepted"><b>akzeptiert</b> losing rack R01 stops the control plane <i>Rack &lt;R03&gt; kommt in Q3 (J. Berater)</i></li>',
    );
    expect(html).not.toContain('Place the controllers one per rack');
  });
});
