/**
 * The wizard's text, from the one catalogue in src/i18n/catalogue.ts (shared with the handover
 * report). German must have every key English has (the catalogue's type checks it).
 */
import { CATALOGUES, entryText, type Catalogue, type Lang, type Vars } from '../../src/api';
import { useUiStore } from './state/ui-store';

export type { Lang };

type Ui = Catalogue['ui'];
/** Keys of the wizard's plain texts (plural entries are used through `useCount`). */
export type TextKey = { [K in keyof Ui]: Ui[K] extends string ? K : never }[keyof Ui];

export const DICTIONARIES: Record<Lang, Record<TextKey, string>> = {
  en: CATALOGUES.en.ui,
  de: CATALOGUES.de.ui,
};

/** The text function of the current language; components re-render when it changes. */
export function useT(): (key: TextKey) => string {
  const lang = useUiStore((s) => s.lang);
  const dict = DICTIONARIES[lang];
  return (key) => dict[key];
}

/** A plural entry of the wizard's texts in the current language, with `n` and `vars` filled. */
export function useTn(): (key: keyof Ui, n: number, vars?: Vars) => string {
  const lang = useUiStore((s) => s.lang);
  return (key, n, vars = {}) => entryText(lang, CATALOGUES[lang].ui[key], { ...vars, n });
}

/**
 * "1 error", "2 errors", "1 Fehler", "2 Warnungen": `n` with the word its language's plural
 * rules (Intl.PluralRules) ask for; `one` is the key of the singular word.
 */
export function countText(lang: Lang, n: number, one: TextKey, other: TextKey): string {
  const dict = DICTIONARIES[lang];
  return `${n} ${dict[new Intl.PluralRules(lang).select(n) === 'one' ? one : other]}`;
}

/** `countText` in the current language. */
export function useCount(): (n: number, one: TextKey, other: TextKey) => string {
  const lang = useUiStore((s) => s.lang);
  return (n, one, other) => countText(lang, n, one, other);
}
