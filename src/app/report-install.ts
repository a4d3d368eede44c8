/**
 * Two sections of the handover report (./report.ts): the capacity summary of the plan, and
 * the summary of an install run (./handover.ts). The install section names where every
 * credential lives; it never holds one.
 */
import type { Capacity, CredentialLocation, EndpointId, InstallSummary } from '../api/index.js';
import { escapeHtml as e, type ReportLang } from './report.js';

const ENDPOINT_TITLES: Record<ReportLang, Record<EndpointId, string>> = {
  en: {
    'kubernetes-api': 'Kubernetes API (uMetal, control-plane VIP)',
    grafana: 'Grafana (dashboards)',
    logs: 'Logs (Loki, in Grafana → Explore)',
    prometheus: 'Prometheus',
    alertmanager: 'Alertmanager',
    keystone: 'Keystone (OpenStack identity, auth URL)',
    horizon: 'Horizon (OpenStack dashboard)',
    git: 'Gitea: the site’s GitOps repository',
    flux: 'Flux: applies clusters/ from that repository',
    'garden-api': 'Workload cluster API (uGarden)',
  },
  de: {
    'kubernetes-api': 'Kubernetes-API (uMetal, Control-Plane-VIP)',
    grafana: 'Grafana (Dashboards)',
    logs: 'Logs (Loki, in Grafana → Explore)',
    prometheus: 'Prometheus',
    alertmanager: 'Alertmanager',
    keystone: 'Keystone (OpenStack-Identität, Auth-URL)',
    horizon: 'Horizon (OpenStack-Dashboard)',
    git: 'Gitea: das GitOps-Repository des Standorts',
    flux: 'Flux: wendet clusters/ aus diesem Repository an',
    'garden-api': 'API des Workload-Clusters (uGarden)',
  },
};

const TEXT = {
  en: {
    capacity: 'Capacity',
    vcpu: 'vCPU',
    ram: 'RAM for instances',
    cephRaw: 'Ceph raw',
    cephUsable: 'Ceph usable',
    total: 'Whole site',
    rackLoss: (rack: string) => `Worst rack lost (${rack})`,
    quorum: 'Control plane keeps quorum',
    yes: 'yes',
    no: 'no',
    oneRack: 'The plan has one rack or none: no rack-loss figure.',
    powerTitle: 'Power per rack',
    rack: 'Rack',
    used: 'Drawn',
    budget: 'Budget',
    assumptions: 'Assumptions',
    install: 'Install summary',
    run: 'Run',
    state: 'State',
    phases: 'Phases',
    started: 'Started',
    duration: 'Duration',
    running: 'still running',
    demo: 'Demo run (demo lab, no real servers)',
    endpoint: 'Endpoint',
    address: 'Address',
    credential: 'Where the credential lives',
    notInstalled: 'not installed by this run',
    unknown: 'unknown',
    none: '—',
    secretIn: (ns: string, name: string, keys: string[], cluster: string) =>
      `Secret ${ns}/${name} (keys ${keys.join(', ')}) in the ${cluster} cluster`,
    fileOn: (host: string, path: string, mode: string) => `${path} on ${host} (mode ${mode})`,
    fromLaptop: 'from a laptop:',
    downloads: 'Files handed over',
    file: 'File',
    source: 'From',
    noSecrets:
      'This report holds no secret: it names where each one is. uStart reads a secret from the site only when asked (the install summary’s reveal and download buttons).',
    management: 'management (uMetal)',
  },
  de: {
    capacity: 'Kapazität',
    vcpu: 'vCPU',
    ram: 'RAM für Instanzen',
    cephRaw: 'Ceph roh',
    cephUsable: 'Ceph nutzbar',
    total: 'Ganzer Standort',
    rackLoss: (rack: string) => `Schlimmster Rack-Ausfall (${rack})`,
    quorum: 'Control Plane behält Quorum',
    yes: 'ja',
    no: 'nein',
    oneRack: 'Der Plan hat ein Rack oder keins: kein Wert für einen Rack-Ausfall.',
    powerTitle: 'Leistung je Rack',
    rack: 'Rack',
    used: 'Bezogen',
    budget: 'Budget',
    assumptions: 'Annahmen',
    install: 'Installationsübersicht',
    run: 'Lauf',
    state: 'Status',
    phases: 'Phasen',
    started: 'Begonnen',
    duration: 'Dauer',
    running: 'läuft noch',
    demo: 'Demo-Lauf (Demo-Labor, keine echten Server)',
    endpoint: 'Endpunkt',
    address: 'Adresse',
    credential: 'Wo die Zugangsdaten liegen',
    notInstalled: 'von diesem Lauf nicht installiert',
    unknown: 'unbekannt',
    none: '—',
    secretIn: (ns: string, name: string, keys: string[], cluster: string) =>
      `Secret ${ns}/${name} (Schlüssel ${keys.join(', ')}) im Cluster ${cluster}`,
    fileOn: (host: string, path: string, mode: string) => `${path} auf ${host} (Modus ${mode})`,
    fromLaptop: 'vom Laptop aus:',
    downloads: 'Übergebene Dateien',
    file: 'Datei',
    source: 'Aus',
    noSecrets:
      'Dieser Bericht enthält kein Geheimnis: er nennt, wo jedes liegt. uStart liest ein Geheimnis nur auf Anfrage vom Standort (Anzeigen und Herunterladen in der Installationsübersicht).',
    management: 'Management (uMetal)',
  },
} as const;

export function endpointTitle(id: EndpointId, lang: ReportLang): string {
  return ENDPOINT_TITLES[lang][id];
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
  const t = TEXT[lang];
  return c.kind === 'secret'
    ? t.secretIn(c.namespace, c.name, c.keys, t.management)
    : t.fileOn(c.host, c.path, c.mode);
}

const row = (...cells: string[]) => `<tr>${cells.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`;
const head = (...cells: string[]) => `<tr>${cells.map((c) => `<th>${e(c)}</th>`).join('')}</tr>`;
const num = (n: number) => String(Math.round(n * 10) / 10);

export function capacitySection(c: Capacity, lang: ReportLang): string {
  const t = TEXT[lang];
  const cols = [t.vcpu, `${t.ram} (GiB)`, `${t.cephRaw} (TB)`, `${t.cephUsable} (TB)`];
  const rows = [
    row(t.total, num(c.vcpu), num(c.ramGiB), num(c.cephRawTB), num(c.cephUsableTB)),
    c.rackLoss
      ? row(
          t.rackLoss(c.rackLoss.rack),
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
    ? `<h3>${e(t.assumptions)}</h3><ul>${c.assumptions.map((a) => `<li>${e(a)}</li>`).join('')}</ul>`
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
  const t = TEXT[lang];
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
  const t = TEXT.en;
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
