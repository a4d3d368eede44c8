/**
 * English and German text of the install summary (InstallSummary.tsx). The language is the
 * wizard's; German must have every English key (the type checks it).
 */
import type { EndpointId, HandoverItem } from '../../../src/api';
import { useUiStore } from '../state/ui-store';

const en = {
  title: 'Install complete: what is handed over',
  duration: 'Duration',
  phases: 'Phases',
  endpoint: 'Endpoint',
  address: 'Address',
  credential: 'Where the credential lives',
  notInstalled: 'not installed by this run',
  unknownAddress: 'address not known',
  fromLaptop: 'from a laptop:',
  secretIn: 'Secret {ns}/{name} (keys {keys}) in the management cluster',
  fileOn: '{path} on {host} (mode {mode})',
  reveal: 'Reveal',
  hide: 'Hide',
  revealing: 'reading from the site…',
  downloads: 'Files to hand over',
  download: 'Download',
  handoverReport: 'Handover report (HTML)',
  handoverReportPdf: 'Handover report (PDF)',
  loading: 'Reading the install summary…',
  noSecrets:
    'No secret is shown here until you reveal it; it is then read from the site, not stored.',
  downloaded: 'Saved',
};

const de: Record<keyof typeof en, string> = {
  title: 'Installation abgeschlossen: was übergeben wird',
  duration: 'Dauer',
  phases: 'Phasen',
  endpoint: 'Endpunkt',
  address: 'Adresse',
  credential: 'Wo die Zugangsdaten liegen',
  notInstalled: 'von diesem Lauf nicht installiert',
  unknownAddress: 'Adresse unbekannt',
  fromLaptop: 'vom Laptop aus:',
  secretIn: 'Secret {ns}/{name} (Schlüssel {keys}) im Management-Cluster',
  fileOn: '{path} auf {host} (Modus {mode})',
  reveal: 'Anzeigen',
  hide: 'Verbergen',
  revealing: 'wird vom Standort gelesen…',
  downloads: 'Zu übergebende Dateien',
  download: 'Herunterladen',
  handoverReport: 'Übergabebericht (HTML)',
  handoverReportPdf: 'Übergabebericht (PDF)',
  loading: 'Die Installationsübersicht wird gelesen…',
  noSecrets:
    'Kein Geheimnis wird hier gezeigt, bevor Sie es anzeigen lassen; es wird dann vom Standort gelesen, nicht gespeichert.',
  downloaded: 'Gespeichert',
};

const ENDPOINTS_EN: Record<EndpointId, string> = {
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
};

const ENDPOINTS_DE: Record<EndpointId, string> = {
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
};

const ITEMS_EN: Record<HandoverItem, string> = {
  'admin-kubeconfig': 'kubeconfig of the uMetal cluster (admin)',
  'garden-kubeconfig': 'kubeconfig of the workload cluster',
  'clouds-yaml': 'clouds.yaml for uStack (admin)',
  'root-ca': 'root CA certificate of the site',
};

const ITEMS_DE: Record<HandoverItem, string> = {
  'admin-kubeconfig': 'kubeconfig des uMetal-Clusters (Admin)',
  'garden-kubeconfig': 'kubeconfig des Workload-Clusters',
  'clouds-yaml': 'clouds.yaml für uStack (Admin)',
  'root-ca': 'Root-CA-Zertifikat des Standorts',
};

export type SummaryTextKey = keyof typeof en;
const DICTS = {
  en: { text: en, endpoints: ENDPOINTS_EN, items: ITEMS_EN },
  de: { text: de, endpoints: ENDPOINTS_DE, items: ITEMS_DE },
} as const;

export interface SummaryT {
  (key: SummaryTextKey, values?: Record<string, string>): string;
  endpoint(id: EndpointId): string;
  item(item: HandoverItem): string;
}

/** The text functions of the wizard's current language; `{name}` placeholders filled in. */
export function useSummaryT(): SummaryT {
  const lang = useUiStore((s) => s.lang);
  const d = DICTS[lang];
  const t = ((key: SummaryTextKey, values: Record<string, string> = {}) =>
    d.text[key].replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m)) as SummaryT;
  t.endpoint = (id) => d.endpoints[id];
  t.item = (item) => d.items[item];
  return t;
}
