/**
 * The text the Install page added after renderer/src/host-pages/texts.ts (the step graph, the
 * offline bundle): the `install` namespace of the one catalogue (src/i18n/catalogue.ts).
 */
import { CATALOGUES, stepTitle, type Catalogue } from '../../../src/api';
import { useUiStore } from '../state/ui-store';

export type InstallTextKey = keyof Catalogue['install'];

/** The text function of the wizard's current language. */
export function useInstallT(): (key: InstallTextKey) => string {
  const lang = useUiStore((s) => s.lang);
  const dict = CATALOGUES[lang].install;
  return (key) => dict[key];
}

/** Run and host states (badges) and runbook step titles in the wizard's current language. */
export function useRunWords(): {
  state: (name: string) => string;
  title: (step: { id: string; title: string }) => string;
} {
  const lang = useUiStore((s) => s.lang);
  const states = CATALOGUES[lang].state as Record<string, string>;
  return {
    state: (name) => states[name] ?? name,
    title: (step) => stepTitle(lang, step.id, step.title),
  };
}
