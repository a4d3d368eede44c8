/** Every validation rule, in the order findings of equal severity are listed. */
import type { Rule } from '../rule.js';
import { serverRules } from './servers.js';

export const RULES: readonly Rule[] = [...serverRules];
