import { useEffect, useState } from 'react';
import { useApp } from '../context';
import { useCount, useT } from '../i18n';
import { useFindingsStore } from '../state/findings-store';
import { DemoBadge } from './DemoBadge';
import { UploadPlan } from './UploadPlan';
import { selectCanRedo, selectCanUndo, selectDirty, usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';

/** File commands, undo/redo, the findings count, language and theme. */
export function TopBar() {
  const t = useT();
  const count = useCount();
  const { api, actions } = useApp();
  const file = usePlanStore((s) => s.file);
  const dirty = usePlanStore(selectDirty);
  const hasPlan = usePlanStore((s) => s.history !== undefined);
  const canUndo = usePlanStore(selectCanUndo);
  const canRedo = usePlanStore(selectCanRedo);
  const counts = useFindingsStore((s) => s.counts);
  const pending = useFindingsStore((s) => s.pending);
  const { lang, setLang, toggleTheme } = useUiStore();
  const [recent, setRecent] = useState<Array<{ file: string }>>([]);

  useEffect(() => {
    void api.recentList().then((r) => r.ok && setRecent(r.value.files));
    return api.on('recent:changed', (e) => setRecent(e.files));
  }, [api]);

  return (
    <header className="topbar">
      <strong className="brand">uStart</strong>
      <div className="group">
        <button type="button" onClick={() => void actions.newPlan('empty')} data-testid="new-empty">
          {t('newPlan')}
        </button>
        <button type="button" onClick={() => void actions.newPlan('demo')} data-testid="new-demo">
          {t('newDemo')}
        </button>
        <button type="button" onClick={() => void actions.open()} data-testid="open">
          {t('open')}
        </button>
        <UploadPlan />
        <select
          aria-label={t('recent')}
          value=""
          onChange={(e) => e.target.value && void actions.open(e.target.value)}
        >
          <option value="">{recent.length ? t('recent') : t('noRecent')}</option>
          {recent.map((r) => (
            <option key={r.file} value={r.file}>
              {r.file}
            </option>
          ))}
        </select>
        <button
          type="button"
          disabled={!hasPlan}
          onClick={() => void actions.save()}
          data-testid="save"
        >
          {t('save')}
        </button>
        <button type="button" disabled={!hasPlan} onClick={() => void actions.save(true)}>
          {t('saveAs')}
        </button>
        <button
          type="button"
          disabled={!hasPlan}
          onClick={() => actions.importCsv()}
          data-testid="import-csv"
        >
          {t('importCsv')}
        </button>
      </div>
      <div className="group">
        <button
          type="button"
          disabled={!canUndo}
          onClick={() => usePlanStore.getState().undo()}
          data-testid="undo"
          title={t('undo')}
          aria-label={t('undo')}
        >
          ↶
        </button>
        <button
          type="button"
          disabled={!canRedo}
          onClick={() => usePlanStore.getState().redo()}
          data-testid="redo"
          title={t('redo')}
          aria-label={t('redo')}
        >
          ↷
        </button>
      </div>
      {file !== null && file === actions.info.demo?.planFile && <DemoBadge />}
      <span className="file" title={file ?? ''}>
        {file ? file.split(/[\\/]/).pop() : hasPlan ? '—' : ''}
        {dirty && <em> ({t('unsaved')})</em>}
      </span>
      {hasPlan && (
        <span
          className="counts"
          data-testid="findings-count"
          aria-live="polite"
          aria-busy={pending}
        >
          <span className="badge error">
            {count(counts.error, 'findingsErrorsOne', 'findingsErrors')}
          </span>{' '}
          <span className="badge warning">
            {count(counts.warning, 'findingsWarningsOne', 'findingsWarnings')}
          </span>
          {pending && <small title={t('validating')}> …</small>}
        </span>
      )}
      <div className="group end">
        <button
          type="button"
          onClick={() => setLang(lang === 'en' ? 'de' : 'en')}
          data-testid="lang"
          title={t('language')}
          aria-label={t('language')}
        >
          {lang === 'en' ? 'DE' : 'EN'}
        </button>
        <button
          type="button"
          onClick={toggleTheme}
          title={t('theme')}
          aria-label={t('theme')}
          data-testid="theme"
        >
          ◐
        </button>
      </div>
    </header>
  );
}
