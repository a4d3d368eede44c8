/**
 * The text of Connect, Install and Terminals: the `op` namespace of the one catalogue
 * (src/i18n/catalogue.ts); the language is the wizard's.
 */
import { CATALOGUES, type Catalogue } from '../../../src/api';
import { useUiStore } from '../state/ui-store';

export type OpTextKey = keyof Catalogue['op'];

/** The text function of the wizard's current language. */
export function useOpT(): (key: OpTextKey) => string {
  const lang = useUiStore((s) => s.lang);
  const dict = CATALOGUES[lang].op;
  return (key) => dict[key];
}

/** `1 h 02 min`, `3 min 05 s`, `12 s`. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
