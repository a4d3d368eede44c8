/**
 * A reload keeps the open plan: its file, the wizard step and, when there are any, its
 * unsaved edits are kept in this tab's sessionStorage and reopened when the page loads.
 * sessionStorage, not localStorage: it belongs to the tab (two tabs never overwrite each
 * other's plan) and outlives a reload, which is what this is for.
 */
import { Plan, type ApiClient } from '../../../src/api';
import { DICTIONARIES, type TextKey } from '../i18n';
import { seedFindings } from './findings-store';
import { selectDirty, usePlanStore } from './plan-store';
import { isStepId } from '../steps/registry';
import { useUiStore, type StepId } from './ui-store';

const KEY = 'ustart.session.plan';
/** Edits are written after this long without another change, and when the page goes. */
const KEEP_DEBOUNCE_MS = 400;

interface Kept {
  file: string | null;
  step?: StepId;
  /** The plan as edited; absent when it equals the file. */
  edits?: unknown;
}

function text(key: TextKey): string {
  return DICTIONARIES[useUiStore.getState().lang][key];
}

function write(): void {
  const s = usePlanStore.getState();
  try {
    if (!s.history) return sessionStorage.removeItem(KEY);
    const base: Kept = { file: s.file, step: useUiStore.getState().step };
    const kept: Kept = selectDirty(s) ? { ...base, edits: s.history.present } : base;
    try {
      sessionStorage.setItem(KEY, JSON.stringify(kept));
    } catch {
      // Over the storage quota (a very large plan): keep at least which file was open.
      sessionStorage.setItem(KEY, JSON.stringify(base));
    }
  } catch {
    // Storage is off (some private windows): a reload then starts empty, as before.
  }
}

/** Keeps the open plan in sessionStorage from now on; returns the function that stops it. */
export function keepSession(): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(write, KEEP_DEBOUNCE_MS);
  };
  const offPlan = usePlanStore.subscribe((s, prev) => {
    if (s.history !== prev.history || s.file !== prev.file || s.saved !== prev.saved) schedule();
  });
  const offUi = useUiStore.subscribe((s, prev) => {
    if (s.step !== prev.step) schedule();
  });
  const flush = () => {
    clearTimeout(timer);
    write();
  };
  window.addEventListener('pagehide', flush);
  return () => {
    clearTimeout(timer);
    offPlan();
    offUi();
    window.removeEventListener('pagehide', flush);
  };
}

function readKept(): Kept | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return undefined;
    const v = JSON.parse(raw) as Partial<Kept>;
    if (v.file !== null && typeof v.file !== 'string') return undefined;
    return {
      file: v.file,
      ...(isStepId(v.step) ? { step: v.step } : {}),
      ...(v.edits !== undefined ? { edits: v.edits } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Reopens the plan kept before a reload, says so, and resolves true; false when nothing
 * was kept. The file is read again from disk; unsaved edits come back on top of it as one
 * undoable change, so Undo returns to the file as saved.
 */
export async function restoreSession(api: ApiClient): Promise<boolean> {
  const kept = readKept();
  if (!kept) return false;
  const parsed = kept.edits === undefined ? undefined : Plan.safeParse(kept.edits);
  const edits = parsed?.success ? parsed.data : undefined;
  const store = usePlanStore.getState();
  let opened = false;
  let problem: string | undefined;
  if (kept.file) {
    const r = await api.planOpen({ file: kept.file });
    if (r.ok && r.value.plan) {
      seedFindings(r.value.plan, r.value);
      store.load(r.value.plan, r.value.file);
      opened = true;
    } else {
      problem = r.ok ? r.value.findings.map((f) => f.message).join('; ') : r.error.message;
    }
  }
  if (edits && opened) {
    if (JSON.stringify(edits) !== JSON.stringify(usePlanStore.getState().history?.present))
      store.replace(edits);
  } else if (edits) {
    // A new or uploaded plan, or a file that is gone: the edits come back without a file.
    store.load(edits, null);
  }
  if (!opened && !edits) {
    useUiStore.getState().notify({
      kind: 'error',
      text: `${text('restoreFailed')}: ${kept.file ?? ''}${problem ? ` — ${problem}` : ''}`,
    });
    return false;
  }
  if (kept.step) useUiStore.getState().setStep(kept.step);
  const name = (opened ? kept.file : null)?.split(/[\\/]/).pop();
  const unsaved = selectDirty(usePlanStore.getState());
  useUiStore.getState().notify({
    kind: problem ? 'error' : 'info',
    text: [
      `${text('restored')}${name ? `: ${name}` : ''}${unsaved ? ` (${text('restoredUnsaved')})` : ''}`,
      problem ? `${text('restoreFailed')}: ${kept.file ?? ''} — ${problem}` : '',
    ]
      .filter(Boolean)
      .join(' · '),
  });
  return true;
}
