/**
 * The text of the hardware editor and the network editing: the `editor` namespace of the
 * one catalogue (src/i18n/catalogue.ts); the language is the wizard's.
 */
import { CATALOGUES, type Catalogue } from '../../../src/api';
import { useUiStore } from '../state/ui-store';

export type EditorTextKey = keyof Catalogue['editor'];

export const EDITOR_TEXTS = { en: CATALOGUES.en.editor, de: CATALOGUES.de.editor } as const;

/** The text function of the current language for the editors. */
export function useEditorT(): (key: EditorTextKey) => string {
  const lang = useUiStore((s) => s.lang);
  const dict: Record<EditorTextKey, string> = EDITOR_TEXTS[lang];
  return (key) => dict[key];
}
