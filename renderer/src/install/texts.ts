/**
 * English and German text the Install page added after renderer/src/operate/texts.ts: the
 * step graph and the offline bundle. The language is the wizard's; German must have every
 * English key (the type checks it).
 */
import { useUiStore } from '../state/ui-store';

const en = {
  stepView: 'Steps as',
  list: 'List',
  graph: 'Graph',
  bundle: 'Offline bundle',
  bundlePath: 'Bundle file',
  bundleKey: 'Public key',
  bundleHint: 'air-gapped site: the install runs only from a verified bundle',
  bundleOptional: 'optional: this site is not air-gapped',
  bundleHalf:
    'Give both the offline bundle file and its public key, or neither: a bundle is only used once its signature is checked.',
  bundleMissing:
    'This site is air-gapped (site.airGapped): give the offline bundle file and the public key it is signed with before starting an install phase. Build a bundle on a connected machine with "ustart bundle create".',
  expected: 'expected to take about {t}',
  noEstimate: 'no estimate yet: no earlier run of these steps finished',
  overEstimate: 'taking longer than earlier runs',
  fromRun: 'from 1 earlier run',
  fromRuns: 'from {n} earlier runs',
  stepsWithoutHistory: '{n} steps never finished before, not counted',
};

const de: Record<keyof typeof en, string> = {
  stepView: 'Schritte als',
  list: 'Liste',
  graph: 'Graph',
  bundle: 'Offline-Bundle',
  bundlePath: 'Bundle-Datei',
  bundleKey: 'Öffentlicher Schlüssel',
  bundleHint: 'Standort ohne Internet: die Installation läuft nur aus einem geprüften Bundle',
  bundleOptional: 'optional: dieser Standort hat Internet',
  bundleHalf:
    'Geben Sie die Offline-Bundle-Datei und ihren öffentlichen Schlüssel an, oder keins von beiden: ein Bundle wird erst nach geprüfter Signatur verwendet.',
  bundleMissing:
    'Dieser Standort ist vom Internet getrennt (site.airGapped): geben Sie die Offline-Bundle-Datei und den öffentlichen Schlüssel, mit dem sie signiert ist, an, bevor Sie eine Installationsphase starten. Ein Bundle entsteht auf einem Rechner mit Internet mit "ustart bundle create".',
  expected: 'dauert voraussichtlich etwa {t}',
  noEstimate: 'noch keine Schätzung: kein früherer Lauf dieser Schritte ist fertig geworden',
  overEstimate: 'dauert länger als frühere Läufe',
  fromRun: 'aus 1 früheren Lauf',
  fromRuns: 'aus {n} früheren Läufen',
  stepsWithoutHistory: '{n} Schritte noch nie fertig geworden, nicht mitgezählt',
};

export type InstallTextKey = keyof typeof en;
const DICTS = { en, de } as const;

/** The text function of the wizard's current language. */
export function useInstallT(): (key: InstallTextKey) => string {
  const lang = useUiStore((s) => s.lang);
  const dict: Record<InstallTextKey, string> = DICTS[lang];
  return (key) => dict[key];
}
