/**
 * The handover report: one standalone HTML page (no scripts, styles inline) a consultant
 * hands to the customer. Electron prints it to PDF; in a browser the same page prints
 * through the print dialog. It holds the site summary, rack diagrams, IP plan, roles and
 * findings, the capacity and, for an install run, its summary (./report-install.ts); it never
 * holds a secret (the plan has none; the install summary names where each one lives).
 */
import { endpointDns, endpointHostsLines, endpointRecords } from '../plan/endpoints.js';
import type { Finding } from '../plan/finding.js';
import type { Plan, Server } from '../plan/schema.js';
import type { NetworkAddressPlan } from '../plan/ipam.js';
import { texts, type Capacity, type InstallSummary, type Lang } from '../api/index.js';
import { fill } from '../api/index.js';
import { capacitySection, installSection } from './report-install.js';

export type ReportLang = Lang;

/** Where the site's root CA lives in the cluster, and where uStart installs it on a server. */
export const ROOT_CA = { namespace: 'yaook', secret: 'root-ca', key: 'tls.crt' } as const;
export const serverCaPath = (site: string) => `/usr/local/share/ca-certificates/ustart-${site}.crt`;

/** Which names the site's OpenStack answers on, how they resolve, and the CA to trust. */
function endpointNamesSection(plan: Plan, lang: ReportLang): string {
  const t = texts(lang, 'reportNames');
  const e = escapeHtml;
  const mode = endpointDns(plan);
  const vip = plan.openstack.publicVip;
  const rows = endpointRecords(plan)
    .map(
      (r) =>
        `<tr><td>${e(r.name)}</td><td>A</td><td>${e(r.address)}</td><td>${e(r.what)}</td></tr>`,
    )
    .join('');
  return [
    `<h2 id="endpoint-names">${e(t.title)}</h2>`,
    `<p>${e(mode === 'site-dns' ? fill(t.siteDns, { vip }) : fill(t.hostsFile, { vip }))}</p>`,
    `<table><tr><th>${e(t.name)}</th><th>${e(t.type)}</th><th>IPv4</th><th>${e(t.what)}</th></tr>${rows}</table>`,
    mode === 'hosts-file'
      ? `<p>${e(t.hostsLines)}</p><pre class="hosts">${e(endpointHostsLines(plan).join('\n'))}</pre>`
      : '',
    `<p>${e(
      fill(t.ca, {
        ns: ROOT_CA.namespace,
        secret: ROOT_CA.secret,
        key: ROOT_CA.key,
        command: `kubectl -n ${ROOT_CA.namespace} get secret ${ROOT_CA.secret} -o jsonpath='{.data.tls\\.crt}' | base64 -d`,
        path: serverCaPath(plan.site.name),
      }),
    )}</p>`,
  ].join('\n');
}

const ROLE_COLOURS: Record<string, string> = {
  controller: '#2563eb',
  compute: '#16a34a',
  storage: '#d97706',
  none: '#6b7280',
};

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const U_PX = 14;

function rackSvg(rack: Plan['racks'][number], servers: Server[]): string {
  const width = 220;
  const height = rack.units * U_PX + 30;
  const blocks = servers
    .map((s) => {
      const y = 20 + (rack.units - (s.position + s.units - 1)) * U_PX;
      const role = s.roles[0] ?? 'none';
      return `<rect x="30" y="${y}" width="180" height="${s.units * U_PX - 1}" fill="${ROLE_COLOURS[role]}" rx="2"/><text x="36" y="${y + U_PX - 4}" font-size="10" fill="#fff">${escapeHtml(s.hostname)} (${escapeHtml(s.roles.join('+') || '-')})</text>`;
    })
    .join('');
  const ticks = Array.from({ length: rack.units }, (_, i) => {
    const u = rack.units - i;
    return u % 5 === 0 || u === 1
      ? `<text x="4" y="${20 + i * U_PX + U_PX - 4}" font-size="8" fill="#555">U${u}</text>`
      : '';
  }).join('');
  return `<figure class="rack"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(rack.name)}"><text x="30" y="12" font-size="11" font-weight="bold">${escapeHtml(rack.name)} · ${rack.units} U · ${rack.powerKw} kW</text><rect x="28" y="18" width="184" height="${rack.units * U_PX + 2}" fill="none" stroke="#333"/>${ticks}${blocks}</svg></figure>`;
}

export interface ReportInput {
  plan: Plan;
  lang: ReportLang;
  findings: Finding[];
  ipPlan: NetworkAddressPlan[];
  /** The capacity summary (Review's); the section is left out without it. */
  capacity?: Capacity;
  /** The install run this report hands over (./handover.ts); no secret is in it. */
  install?: InstallSummary;
  generatedAt: Date;
}

export function renderReport({
  plan,
  lang,
  findings,
  ipPlan,
  capacity,
  install,
  generatedAt,
}: ReportInput): string {
  const t = texts(lang, 'report');
  const e = escapeHtml;
  const row = (...cells: string[]) => `<tr>${cells.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`;
  const head = (...cells: string[]) => `<tr>${cells.map((c) => `<th>${e(c)}</th>`).join('')}</tr>`;
  const site = plan.site;
  const racks = plan.racks
    .map((rack) =>
      rackSvg(
        rack,
        plan.servers.filter((s) => s.rack === rack.name),
      ),
    )
    .join('');
  const ip = ipPlan
    .map(
      (n) =>
        `<h3>${e(n.network)} · ${e(n.cidr)} · ${n.free} ${e(t.free)}</h3><table>${head(t.address, t.owner)}${[
          ...n.reserved.map((r) => ({ address: r.address, owner: `${t.reserved}: ${r.reason}` })),
          ...n.allocated.map((a) => ({
            address: a.address,
            owner: a.kind === 'bmc' ? `${a.hostname} (BMC)` : a.hostname,
          })),
        ]
          .map((r) => row(r.address, r.owner))
          .join('')}</table>`,
    )
    .join('');
  const roles = plan.servers
    .map((s) => row(s.hostname, s.rack, `${s.model}`, s.roles.join(', ') || '-'))
    .join('');
  // An accepted warning (plan `acknowledgements`) shows why it was accepted, and by whom.
  const acceptedItem = (f: Finding, a: { reason: string; by?: string }) =>
    `<li class="accepted"><b>${e(t.accepted)}</b> ${e(f.message)} <i>${e(a.reason)}${a.by ? ` (${e(a.by)})` : ''}</i></li>`;
  const findingList = findings.length
    ? `<ul>${findings.map((f) => (f.acknowledged ? acceptedItem(f, f.acknowledged) : `<li class="${f.severity}"><b>${e(t[f.severity])}</b> ${e(f.message)} <i>${e(f.hint)}</i></li>`)).join('')}</ul>`
    : `<p>${e(t.none)}</p>`;
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>${e(t.title)} – ${e(site.name)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>
body{font:12px/1.4 system-ui,sans-serif;margin:24px;color:#111}
h1{font-size:20px}h2{font-size:16px;border-bottom:1px solid #999;margin-top:24px}h3{font-size:13px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #bbb;padding:2px 6px;text-align:left}
.racks{display:flex;flex-wrap:wrap;gap:12px}.rack{margin:0;break-inside:avoid}
pre.hosts{border:1px solid #bbb;padding:4px 6px}li.error b{color:#b91c1c}li.warning b{color:#b45309}
@media print{h2{break-after:avoid}}
</style></head><body>
<h1>${e(t.title)}: ${e(site.name)}</h1>
<p>${e(generatedAt.toISOString().slice(0, 10))}</p>
<h2>${e(t.site)}</h2>
<table>${row(t.customer, site.customer)}${row(t.location, site.location)}${row(t.environment, site.environment)}${row(t.domain, site.domain)}${row(t.airGapped, site.airGapped ? t.yes : t.no)}</table>
${install ? installSection(install, lang) : ''}
<h2>${e(t.racks)}</h2><div class="racks">${racks}</div>
<h2>${e(t.ipPlan)}</h2>${ip}
<h2>${e(t.roles)}</h2><table>${head(t.hostname, t.rack, t.model, t.roles)}${roles}</table>
${capacity ? capacitySection(capacity, lang) : ''}
${endpointNamesSection(plan, lang)}
<h2>${e(t.findings)}</h2>${findingList}
</body></html>
`;
}
