/**
 * The text of acknowledging findings (the dialog, the accepted mark, the withdraw button):
 * the `ack` namespace of the one catalogue (src/i18n/catalogue.ts); the language is the wizard's.
 */
import { CATALOGUES, type Catalogue } from '../../../src/api';
import { useUiStore } from '../state/ui-store';

export type AckTextKey = keyof Catalogue['ack'];

export const ACK_TEXTS = { en: CATALOGUES.en.ack, de: CATALOGUES.de.ack } as const;

/** The text function of the current language for acknowledging. */
export function useAckT(): (key: AckTextKey) => string {
  const lang = useUiStore((s) => s.lang);
  const dict = ACK_TEXTS[lang];
  return (key) => dict[key];
}
