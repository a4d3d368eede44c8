import { useEffect } from 'react';
import { useApp } from '../context';
import { useT } from '../i18n';
import { findFieldElement } from '../logic/finding-steps';
import { HostPagesView } from '../host-pages/HostPagesView';
import { useHostPagesStore } from '../state/host-pages-store';
import { useFindingsStore } from '../state/findings-store';
import { selectDirty, selectPlan, usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';
import { WIZARD_STEPS } from '../steps/registry';
import { Dialogs } from './Dialogs';
import { NoticeBar } from './NoticeBar';
import { StepRail } from './StepRail';
import { TopBar } from './TopBar';

/** Shortcuts in browser mode; in Electron the menu's accelerators do this. */
function useShortcuts(enabled: boolean) {
  const { actions } = useApp();
  useEffect(() => {
    if (!enabled) return;
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      const key = e.key.toLowerCase();
      const command =
        key === 'z'
          ? e.shiftKey
            ? 'redo'
            : 'undo'
          : key === 'y'
            ? 'redo'
            : key === 's'
              ? e.shiftKey
                ? 'save-as'
                : 'save'
              : key === 'o'
                ? 'open'
                : undefined;
      if (!command) return;
      e.preventDefault();
      actions.run(command);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [actions, enabled]);
}

/** Keeps the window title, the shell's close guard and the browser's unload guard in step. */
function useWindowState() {
  const { api } = useApp();
  const dirty = usePlanStore(selectDirty);
  const file = usePlanStore((s) => s.file);
  const errors = useFindingsStore((s) => s.counts.error);
  const hasPlan = usePlanStore((s) => s.history !== undefined);
  useEffect(() => {
    const name = file ? file.split(/[\\/]/).pop() : hasPlan ? 'new plan' : '';
    const title = `${dirty ? '● ' : ''}${name ? `${name} — ` : ''}uStart${hasPlan ? ` (${errors} ✖)` : ''}`;
    document.title = title;
    void api.windowSetState({ dirty, title });
  }, [api, dirty, file, errors, hasPlan]);
  useEffect(() => {
    if (!dirty) return;
    const guard = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', guard);
    return () => window.removeEventListener('beforeunload', guard);
  }, [dirty]);
}

/** After a jump to a finding, focus its field once the step has drawn it. */
function useFocusJump() {
  const focusPath = useUiStore((s) => s.focusPath);
  const step = useUiStore((s) => s.step);
  useEffect(() => {
    if (!focusPath) return;
    let frame = requestAnimationFrame(() => {
      frame = requestAnimationFrame(() => {
        const el = findFieldElement(document, focusPath);
        el?.scrollIntoView({ block: 'center' });
        el?.focus();
        useUiStore.getState().focusDone();
      });
    });
    return () => cancelAnimationFrame(frame);
  }, [focusPath, step]);
}

function Welcome() {
  const t = useT();
  const { actions } = useApp();
  return (
    <section className="welcome">
      <h1>uStart</h1>
      <p>{t('noPlan')}</p>
      <div className="toolbar">
        <button type="button" onClick={() => void actions.newPlan('empty')}>
          {t('newEmpty')}
        </button>
        <button type="button" onClick={() => void actions.newPlan('demo')}>
          {t('newDemo')}
        </button>
        <button type="button" onClick={() => void actions.open()}>
          {t('open')}
        </button>
      </div>
    </section>
  );
}

export function App() {
  const { api, actions } = useApp();
  const plan = usePlanStore(selectPlan);
  const step = useUiStore((s) => s.step);
  const operating = useHostPagesStore((s) => s.page !== undefined);
  const theme = useUiStore((s) => s.theme);
  const lang = useUiStore((s) => s.lang);
  const Step = WIZARD_STEPS.find((s) => s.id === step)?.component;
  useShortcuts(actions.info.mode !== 'electron');
  useWindowState();
  useFocusJump();
  useEffect(() => api.on('menu:command', (e) => actions.run(e.command, e.file)), [api, actions]);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.lang = lang;
  }, [theme, lang]);
  return (
    <div className="app">
      <TopBar />
      {plan ? (
        <div className="body">
          <StepRail />
          <main className="content">
            <HostPagesView />
            {!operating && Step && <Step key={step} plan={plan} />}
          </main>
        </div>
      ) : (
        <Welcome />
      )}
      <NoticeBar />
      <Dialogs />
    </div>
  );
}
