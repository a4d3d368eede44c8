/** The capacity assumptions as a front shows them, in the consultant's language. */
import { CATALOGUES, fill, type Lang } from '../i18n/catalogue.js';
import type { Capacity } from './contract.js';

/** The capacity assumptions in `lang` when their figures came along, else as the core worded them. */
export function capacityAssumptions(c: Capacity, lang: Lang): string[] {
  const values = c.assumptionValues;
  if (!values) return c.assumptions;
  return Object.values(CATALOGUES[lang].capacity).map((s) => fill(s, values));
}
