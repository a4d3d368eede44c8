/**
 * The one text catalogue of uStart, shared by the renderer and the core's handover report
 * (src/app/report.ts). English (./en.ts) is the shape; German (./de.ts) must have
 * every English key, which the `Catalogue` type checks. A tiny `t(key, vars)` fills `{name}`
 * placeholders and picks plural forms with Intl.PluralRules. (No i18n library: the catalogue
 * is small, typed and must load in plain Node and in the browser alike.)
 */
import { en } from './en.js';
import { de } from './de.js';

/** A text that depends on a count: `{ one: '1 error', other: '{n} errors' }`. */
export interface Plural {
  one: string;
  other: string;
}

type English = typeof en;
export type Namespace = keyof English;

/** What a translation must provide: every namespace and key of the English catalogue. */
export type Catalogue = {
  [N in Namespace]: { [K in keyof English[N]]: English[N][K] extends string ? string : Plural };
};

export const LANGS = ['en', 'de'] as const;
export type Lang = (typeof LANGS)[number];

export const CATALOGUES: Record<Lang, Catalogue> = { en, de };

/** `ns.key` for every entry of the catalogue. */
export type TextId = {
  [N in Namespace]: `${N}.${Extract<keyof English[N], string>}`;
}[Namespace];

export type Vars = Record<string, string | number>;

/** Fills `{name}` placeholders; a placeholder without a value stays as it is. */
export function fill(text: string, vars: Vars = {}): string {
  return text.replace(/\{(\w+)\}/g, (m, k: string) =>
    vars[k] === undefined ? m : String(vars[k]),
  );
}

/** One entry, filled; a plural entry picks its form by `vars.n` in `lang`'s plural rules. */
export function entryText(lang: Lang, entry: string | Plural, vars: Vars = {}): string {
  if (typeof entry === 'string') return fill(entry, vars);
  const n = Number(vars.n ?? 0);
  return fill(new Intl.PluralRules(lang).select(n) === 'one' ? entry.one : entry.other, vars);
}

/** The entry `id` ("ns.key") of `lang`'s catalogue, filled with `vars`. */
export function translate(lang: Lang, id: TextId, vars?: Vars): string {
  const dot = id.indexOf('.');
  const ns = CATALOGUES[lang][id.slice(0, dot) as Namespace] as Record<string, string | Plural>;
  return entryText(lang, ns[id.slice(dot + 1)]!, vars);
}

/** `t(key, vars)` bound to one language. */
export function translator(lang: Lang): (id: TextId, vars?: Vars) => string {
  return (id, vars) => translate(lang, id, vars);
}

/** One namespace of `lang`'s catalogue, for code that reads many keys of it. */
export function texts<N extends Namespace>(lang: Lang, ns: N): Catalogue[N] {
  return CATALOGUES[lang][ns];
}

/**
 * The title of a runbook step in `lang`: the catalogue's, or the runbook's own (`fallback`,
 * English) for a step the catalogue does not know yet.
 */
export function stepTitle(lang: Lang, id: string, fallback: string): string {
  const titles = CATALOGUES[lang].stepTitle as Record<string, string>;
  return titles[id] ?? fallback;
}
