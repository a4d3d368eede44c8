/**
 * The text of the install summary (InstallSummary.tsx): the `summary`, `endpoint` and
 * `handover` namespaces of the one catalogue (src/i18n/catalogue.ts).
 */
import {
  CATALOGUES,
  fill,
  type Catalogue,
  type EndpointId,
  type HandoverItem,
} from '../../../src/api';
import { useUiStore } from '../state/ui-store';

export type SummaryTextKey = keyof Catalogue['summary'];

export interface SummaryT {
  (key: SummaryTextKey, values?: Record<string, string>): string;
  endpoint(id: EndpointId): string;
  item(item: HandoverItem): string;
}

/** The text functions of the wizard's current language; `{name}` placeholders filled in. */
export function useSummaryT(): SummaryT {
  const lang = useUiStore((s) => s.lang);
  const d = CATALOGUES[lang];
  const t = ((key: SummaryTextKey, values: Record<string, string> = {}) =>
    fill(d.summary[key], values)) as SummaryT;
  t.endpoint = (id) => d.endpoint[id];
  t.item = (item) => d.handover[item];
  return t;
}
