/**
 * The one catalogue: German has every English key (the `Catalogue` type checks it when the
 * German file compiles; this checks the same at run time, and no extra keys), every step of
 * the runbook has a German title, and `t` fills values and picks plural forms.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CATALOGUES,
  translate,
  translator,
  type Catalogue,
  type Plural,
} from '../../src/i18n/catalogue.js';

const shape = (c: Catalogue) =>
  Object.fromEntries(
    Object.entries(c).map(([ns, entries]) => [
      ns,
      Object.entries(entries as Record<string, string | Plural>)
        .map(([k, v]) => `${k}:${typeof v}`)
        .sort(),
    ]),
  );

describe('the text catalogue', () => {
  it('has the same keys, and the same kind of entry, in German as in English', () => {
    expect(shape(CATALOGUES.de)).toEqual(shape(CATALOGUES.en));
    // A missing German key is a type error, not only a failed test.
    // @ts-expect-error: `ui.save` is missing
    const _broken: Catalogue = { ...CATALOGUES.de, ui: { ...CATALOGUES.de.ui, save: undefined } };
    expect(_broken.ui.save).toBeUndefined();
  });

  it('gives every runbook step a title in both languages, the English one the runbook’s', async () => {
    const dir = join(import.meta.dirname, '../../assets/runbook');
    const steps: Array<{ id: string; title: string }> = [];
    for (const f of await readdir(dir)) {
      if (!f.endsWith('.yaml')) continue;
      const doc = parse(await readFile(join(dir, f), 'utf8')) as {
        steps?: Array<{ id: string; title: string }>;
      };
      steps.push(...(doc?.steps ?? []));
    }
    expect(steps.length).toBeGreaterThan(40);
    const en = CATALOGUES.en.stepTitle as Record<string, string>;
    const de = CATALOGUES.de.stepTitle as Record<string, string>;
    for (const s of steps) {
      expect(en[s.id], s.id).toBe(s.title);
      expect(de[s.id], s.id).toBeTruthy();
      expect(de[s.id], s.id).not.toBe(s.title);
    }
  });

  it('fills values and picks plural forms by the language’s rules', () => {
    const t = translator('de');
    expect(t('ui.deleteSelectedConfirm', { n: 1, names: 'cmp-01' })).toBe(
      '1 Server (cmp-01) aus dem Plan löschen? Rückgängig stellt ihn wieder her.',
    );
    expect(translate('en', 'ui.deleteSelectedConfirm', { n: 2, names: 'a, b' })).toBe(
      'Delete 2 servers (a, b) from the plan? Undo brings them back.',
    );
    expect(translate('en', 'ui.deleteSelectedConfirm', { n: 0, names: '' })).toMatch(
      /^Delete 0 servers/,
    );
    expect(t('reportInstall.rackLoss', { rack: 'R02' })).toBe('Schlimmster Rack-Ausfall (R02)');
    expect(t('install.expected')).toBe('dauert voraussichtlich etwa {t}');
  });
});
