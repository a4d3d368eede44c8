/**
 * Two sections of the handover report (./report.ts): the capacity summary of the plan, and
 * the summary of an install run (./handover.ts). The install section names where every
 * credential lives; it never holds one.
 */
import {
  capacityAssumptions,
  fill,
  texts,
  type Capacity,
  type CredentialLocation,
  type EndpointId,
  type InstallSummary,
} from '../api/index.js';
import { escapeHtml as e, type ReportLang } from './report.js';

export function endpointTitle(id: EndpointId, lang: ReportLang): string {
  return texts(lang, 'endpoint')[id];
}

/** A run's duration as `1 h 02 min`, `3 min 07 s` or `42 s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m) return `${m} min ${String(sec).padStart(2, '0')} s`;
  return `${sec} s`;
}

export function credentialText(c: CredentialLocation, lang: ReportLang): string {
  const t = texts(lang, 'reportInstall');
  return c.kind === 'secret'
    ? fill(t.secretIn, {
        ns: c.namespace,
        name: c.name,
        keys: c.keys.join(', '),
        cluster: t.management,
      })
    : fill(t.fileOn, { host: c.host, path: c.path, mode: c.mode });
}

const row = (...cells: string[]) => `<tr>${cells.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`;
const head = (...cells: string[]) => `<tr>${cells.map((c) => `<th>${e(c)}</th>`).join('')}</tr>`;
const num = (n: number) => String(Math.round(n * 10) / 10);

export function capacitySection(c: Capacity, lang: ReportLang): string {
  const t = texts(lang, 'reportInstall');
  const cols = [t.vcpu, `${t.ram} (GiB)`, `${t.cephRaw} (TB)`, `${t.cephUsable} (TB)`];
  const rows = [
    row(t.total, num(c.vcpu), num(c.ramGiB), num(c.cephRawTB), num(c.cephUsableTB)),
    c.rackLoss
      ? row(
          fill(t.rackLoss, { rack: c.rackLoss.rack }),
          num(c.rackLoss.vcpu),
          num(c.rackLoss.ramGiB),
          t.none,
          num(c.rackLoss.cephUsableTB),
        )
      : '',
  ].join('');
  const quorum = c.rackLoss
    ? `<p>${e(t.quorum)}: <b>${e(c.rackLoss.controlPlaneQuorum ? t.yes : t.no)}</b></p>`
    : `<p>${e(t.oneRack)}</p>`;
  const power = c.power.length
    ? `<h3>${e(t.powerTitle)}</h3><table>${head(t.rack, `${t.used} (kW)`, `${t.budget} (kW)`)}${c.power
        .map((p) => row(p.rack, num(p.usedKw), num(p.budgetKw)))
        .join('')}</table>`
    : '';
  const assumptions = c.assumptions.length
    ? `<h3>${e(t.assumptions)}</h3><ul>${capacityAssumptions(c, lang)
        .map((a) => `<li>${e(a)}</li>`)
        .join('')}</ul>`
    : '';
  return [
    `<h2 id="capacity">${e(t.capacity)}</h2>`,
    `<table>${head('', ...cols)}${rows}</table>`,
    quorum,
    power,
    assumptions,
  ].join('\n');
}

export function installSection(s: InstallSummary, lang: ReportLang): string {
  const t = texts(lang, 'reportInstall');
  const facts = [
    row(t.run, s.runId),
    row(t.state, s.state),
    row(t.phases, s.phases.join(', ')),
    row(t.started, new Date(s.startedAt).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'),
    row(t.duration, s.durationMs !== undefined ? formatDuration(s.durationMs) : t.running),
  ].join('');
  const endpoints = s.endpoints
    .map((ep) => {
      const where = [
        ep.url ?? (ep.problem ? `${t.unknown}: ${ep.problem}` : t.unknown),
        ...(ep.inCluster ? [`${t.fromLaptop} ${ep.inCluster.command}`] : []),
        ...(ep.installed ? [] : [`(${t.notInstalled})`]),
      ];
      const creds = ep.credentials.map((c) => credentialText(c, lang));
      return `<tr><td>${e(endpointTitle(ep.id, lang))}</td><td>${where.map(e).join('<br>')}</td><td>${creds.length ? creds.map(e).join('<br>') : e(t.none)}</td></tr>`;
    })
    .join('');
  const downloads = s.downloads
    .map((d) => row(d.fileName, credentialText(d.source, lang)))
    .join('');
  return [
    `<h2 id="install-summary">${e(t.install)}</h2>`,
    s.demo ? `<p><b>${e(t.demo)}</b></p>` : '',
    `<table>${facts}</table>`,
    `<table>${head(t.endpoint, t.address, t.credential)}${endpoints}</table>`,
    `<h3>${e(t.downloads)}</h3><table>${head(t.file, t.source)}${downloads}</table>`,
    `<p>${e(t.noSecrets)}</p>`,
  ].join('\n');
}

/** The summary as plain lines for a terminal (`ustart demo`), in English; no secret. */
export function summaryLines(s: InstallSummary): string[] {
  const t = texts('en', 'reportInstall');
  const lines = [
    `${t.install}: run ${s.runId}, ${s.state}, ${s.phases.join(', ')}, ${s.durationMs !== undefined ? formatDuration(s.durationMs) : t.running}`,
  ];
  for (const ep of s.endpoints) {
    const where = ep.url ?? `${t.unknown}${ep.problem ? `: ${ep.problem}` : ''}`;
    lines.push(
      `  ${endpointTitle(ep.id, 'en')}: ${where}${ep.installed ? '' : ` (${t.notInstalled})`}`,
    );
    if (ep.inCluster) lines.push(`      ${t.fromLaptop} ${ep.inCluster.command}`);
    for (const c of ep.credentials) lines.push(`      ${t.credential}: ${credentialText(c, 'en')}`);
  }
  lines.push(`  ${t.downloads}:`);
  for (const d of s.downloads) lines.push(`      ${d.fileName}: ${credentialText(d.source, 'en')}`);
  return lines;
}
