/**
 * Install: the phases uMetal → uStack → uGarden as steps with state colours, a host × step
 * matrix, progress with elapsed time and an estimate, start / cancel / retry / skip /
 * resume, the step-by-step pause with what the step will do, the run history, and the live
 * log of the step and host chosen.
 */
import { useEffect, useMemo, useState } from 'react';
import type { ApiClient, RunInfo, StepPreview } from '../../../src/api';
import { DemoBadge } from '../components/DemoBadge';
import { useApp } from '../context';
import { duration, useOpT } from '../operate/texts';
import { selectInstall, usePageMemory } from '../state/page-memory-store';
import { selectPlan, usePlanStore } from '../state/plan-store';
import { hostKey, progressOf, useRunStore, type RunView } from '../state/run-store';
import { useUiStore } from '../state/ui-store';
import './install.css';
import { InstallSummary } from './InstallSummary';
import { LogView } from './LogView';
import { RunClient } from './run-client';
import { StepGraph } from './StepGraph';
import { estimateRemaining, stepHistory, type Estimate } from './estimate';
import { useInstallT, useRunWords, type InstallTextKey } from './texts';

const clients = new WeakMap<ApiClient, RunClient>();
/** One run client per api: it outlives page switches, so the stream is not re-attached. */
export function runClientFor(api: ApiClient): RunClient {
  let c = clients.get(api);
  if (!c) clients.set(api, (c = new RunClient(api)));
  return c;
}

const PHASE_ORDER = ['connect', 'umetal', 'ustack', 'ugarden'] as const;
const PHASE_LABEL: Record<string, string> = {
  connect: 'Connect',
  umetal: 'uMetal',
  ustack: 'uStack',
  ugarden: 'uGarden',
};
/** A phase's name; Connect is a word, the others are product names. */
const phaseLabel = (phase: string, t: (key: 'pageConnect') => string) =>
  phase === 'connect' ? t('pageConnect') : (PHASE_LABEL[phase] ?? phase);
const CURRENT = 'ustart.run.current';
const STEP_VIEW = 'ustart.install.step-view';
const bundleKey = (planFile: string) => `ustart.install.bundle.${planFile}`;

interface BundleFields {
  path: string;
  publicKey: string;
}

/** The bundle fields of a plan, kept in this browser (paths, never secrets). */
function loadBundle(planFile: string): BundleFields {
  try {
    const v = JSON.parse(
      localStorage.getItem(bundleKey(planFile)) ?? '{}',
    ) as Partial<BundleFields>;
    return { path: String(v.path ?? ''), publicKey: String(v.publicKey ?? '') };
  } catch {
    return { path: '', publicKey: '' };
  }
}

function notifyError(message: string) {
  useUiStore.getState().notify({ kind: 'error', text: message });
}

/** Runs an api call and shows its error; resolves to the value or undefined. */
async function attempt<T>(
  call: Promise<{ ok: true; value: T } | { ok: false; error: { message: string } }>,
): Promise<T | undefined> {
  const r = await call;
  if (r.ok) return r.value;
  notifyError(r.error.message);
  return undefined;
}

export function InstallPage() {
  const { api } = useApp();
  const t = useOpT();
  const planFile = usePlanStore((s) => s.file);
  const view = useRunStore((s) => s.view);
  const history = useRunStore((s) => s.history);
  const selected = useRunStore((s) => s.selected);
  const client = runClientFor(api);
  // The chosen phases stay when the user visits another page and comes back.
  const { phases, stepByStep } = usePageMemory(selectInstall(planFile));
  const setPhases = (next: (cur: string[]) => string[]) =>
    planFile && usePageMemory.getState().setInstall(planFile, { phases: next(phases) });
  const setStepByStep = (on: boolean) =>
    planFile && usePageMemory.getState().setInstall(planFile, { stepByStep: on });
  const [planned, setPlanned] = useState<RunView | undefined>(undefined);
  const [asGraph, setAsGraph] = useState(() => localStorage.getItem(STEP_VIEW) === 'graph');
  const airGapped = usePlanStore((s) => selectPlan(s)?.site.airGapped === true);
  const [bundle, setBundle] = useState<BundleFields>({ path: '', publicKey: '' });
  const [bundleError, setBundleError] = useState<string | undefined>(undefined);
  const ti = useInstallT();

  const refreshHistory = async () => {
    if (!planFile) return [];
    const r = await api.runList({ planFile });
    const runs = r.ok ? r.value.runs : [];
    useRunStore.getState().setHistory(runs);
    return runs;
  };

  const openRun = async (runId: string) => {
    if (!planFile) return;
    try {
      await client.open(planFile, runId);
      sessionStorage.setItem(CURRENT, runId);
    } catch (e) {
      notifyError(String((e as Error).message));
    }
  };

  // On arrival (and after a reload): the running run, else the one shown last in this tab.
  useEffect(() => {
    if (!planFile) return;
    let gone = false;
    void (async () => {
      const runs = await refreshHistory();
      if (gone) return;
      const current = useRunStore.getState().view;
      if (current && runs.some((r) => r.runId === current.runId)) return;
      const active = runs.find((r) => r.active);
      const remembered = sessionStorage.getItem(CURRENT);
      const pick = active ?? runs.find((r) => r.runId === remembered);
      if (pick) await openRun(pick.runId);
    })();
    const off = api.on('run:changed', (e) => {
      void refreshHistory();
      const shown = useRunStore.getState().view;
      if (e.state === 'running' && (!shown || shown.state !== 'running' || shown.runId === e.runId))
        void openRun(e.runId);
    });
    return () => {
      gone = true;
      off();
    };
  }, [api, planFile]);

  // Before a run: the steps the chosen phases would run, with their hosts.
  useEffect(() => {
    if (!planFile) return;
    let gone = false;
    void api.runSteps({ planFile, phases }).then((r) => {
      if (gone) return;
      if (!r.ok) return setPlanned(undefined);
      setPlanned({
        runId: '',
        state: 'running',
        startedAt: Date.now(),
        steps: r.value.steps.map((s) => ({ ...s, state: 'pending' })),
        hosts: Object.fromEntries(
          r.value.steps.flatMap((s) =>
            s.hosts.map((h) => [hostKey(s.id, h), { state: 'pending' as const, attempt: 0 }]),
          ),
        ),
        lastSeq: 0,
        gaps: 0,
        warnings: [],
      });
    });
    return () => {
      gone = true;
    };
  }, [api, planFile, phases]);

  // A step chosen in the graph or the matrix shows its log below them: bring it into view.
  useEffect(() => {
    if (!selected) return;
    document
      .querySelector('[data-testid="log-view"]')
      ?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }, [selected]);

  useEffect(() => {
    if (planFile) setBundle(loadBundle(planFile));
    setBundleError(undefined);
  }, [planFile]);

  if (!planFile) return <p className="empty">{t('saveFirst')}</p>;

  const active = view?.state === 'running';
  const shown = view ?? planned;
  const editBundle = (change: Partial<BundleFields>) => {
    const next = { ...bundle, ...change };
    setBundle(next);
    setBundleError(undefined);
    localStorage.setItem(bundleKey(planFile), JSON.stringify(next));
  };
  /** The bundle for a run, or undefined after saying why an air-gapped install cannot start. */
  const bundleFor = (installs: boolean): { given?: BundleFields } | undefined => {
    const path = bundle.path.trim();
    const publicKey = bundle.publicKey.trim();
    if (path && publicKey) return { given: { path, publicKey } };
    if (!installs) return {};
    // Half a bundle is never dropped silently: the consultant meant to install from it.
    const why = airGapped ? 'bundleMissing' : path || publicKey ? 'bundleHalf' : undefined;
    if (why) {
      setBundleError(ti(why));
      notifyError(ti(why));
      return undefined;
    }
    return {};
  };
  const start = async () => {
    const b = bundleFor(phases.some((p) => p !== 'connect'));
    if (!b) return;
    const r = await attempt(
      api.runStart({
        planFile,
        phases,
        stepByStep,
        pauseOnFailure: true,
        ...(b.given ? { bundle: b.given } : {}),
      }),
    );
    if (r) await openRun(r.runId);
  };
  const resume = async (runId: string) => {
    const b = bundleFor(!!view?.steps.some((s) => s.phase !== 'connect'));
    if (!b) return;
    const r = await attempt(
      api.runResume({ planFile, runId, stepByStep, ...(b.given ? { bundle: b.given } : {}) }),
    );
    if (r) await openRun(r.runId);
  };
  const stepView = (graph: boolean) => {
    setAsGraph(graph);
    localStorage.setItem(STEP_VIEW, graph ? 'graph' : 'list');
  };

  return (
    <div className="install" data-testid="install-page">
      <div className="toolbar">
        <span>{t('phases')}:</span>
        {PHASE_ORDER.map((p) => (
          <label key={p} className="check">
            <input
              type="checkbox"
              data-testid={`phase-${p}`}
              checked={phases.includes(p)}
              onChange={(e) =>
                setPhases((cur) =>
                  PHASE_ORDER.filter((x) => (x === p ? e.target.checked : cur.includes(x))),
                )
              }
            />
            {phaseLabel(p, t)}
          </label>
        ))}
        <label className="check">
          <input
            type="checkbox"
            data-testid="step-by-step"
            checked={stepByStep}
            onChange={(e) => setStepByStep(e.target.checked)}
          />
          {t('stepByStep')}
        </label>
        <button
          type="button"
          data-testid="run-start"
          disabled={active || phases.length === 0}
          onClick={() => void start()}
        >
          {t('start')}
        </button>
        {active && view && (
          <button
            type="button"
            data-testid="run-cancel"
            onClick={() => void attempt(api.runCancel({ runId: view.runId }))}
          >
            {t('cancelRun')}
          </button>
        )}
        {!active && view && view.state !== 'succeeded' && (
          <button type="button" data-testid="run-resume" onClick={() => void resume(view.runId)}>
            {t('resume')}
          </button>
        )}
        {view && <BundleButton planFile={planFile} runId={view.runId} />}
        <span className="segmented" role="group" aria-label={ti('stepView')}>
          <button
            type="button"
            data-testid="step-view-list"
            aria-pressed={!asGraph}
            onClick={() => stepView(false)}
          >
            {ti('list')}
          </button>
          <button
            type="button"
            data-testid="step-view-graph"
            aria-pressed={asGraph}
            onClick={() => stepView(true)}
          >
            {ti('graph')}
          </button>
        </span>
      </div>
      <fieldset
        className="bundle-fields"
        data-testid="bundle-fields"
        data-required={airGapped ? 'true' : 'false'}
      >
        <legend>
          {ti('bundle')}{' '}
          <span className="muted">{airGapped ? ti('bundleHint') : ti('bundleOptional')}</span>
        </legend>
        {(
          [
            ['path', 'bundlePath', 'ustart-bundle-….tar'],
            ['publicKey', 'bundleKey', 'bundle-signing.pub'],
          ] as const
        ).map(([field, label, placeholder]) => (
          <label key={field}>
            {ti(label)}{' '}
            <input
              data-testid={`bundle-${field}`}
              value={bundle[field]}
              placeholder={placeholder}
              aria-invalid={bundleError && !bundle[field].trim() ? 'true' : undefined}
              onChange={(e) => editBundle({ [field]: e.target.value })}
            />
          </label>
        ))}
        {bundleError && (
          <p className="error-text" role="alert" data-testid="bundle-error">
            {bundleError}
          </p>
        )}
      </fieldset>
      {shown && <Progress view={shown} live={!!view} />}
      {view?.state === 'succeeded' && view.steps.some((s) => s.phase !== 'connect') && (
        <InstallSummary
          planFile={planFile}
          runId={view.runId}
          logBundle={<BundleButton planFile={planFile} runId={view.runId} />}
        />
      )}
      {view?.paused && <PausePanel view={view} />}
      {shown && (
        <div className={asGraph ? 'install-grid as-graph' : 'install-grid'}>
          {asGraph ? (
            <StepGraph view={shown} phaseLabel={(p) => phaseLabel(p, t)} />
          ) : (
            <StepList view={shown} />
          )}
          <HostMatrix view={shown} />
        </div>
      )}
      {view && selected && (
        <HostStepDetail
          planFile={planFile}
          view={view}
          stepId={selected.stepId}
          host={selected.host}
        />
      )}
      {view && selected && (
        <LogView
          key={`${view.runId}/${selected.stepId}/${selected.host}`}
          client={client}
          planFile={planFile}
          runId={view.runId}
          stepId={selected.stepId}
          host={selected.host}
        />
      )}
      <History runs={history} shown={view?.runId} onShow={(id) => void openRun(id)} />
    </div>
  );
}

function Progress({ view, live }: { view: RunView; live: boolean }) {
  const t = useOpT();
  const words = useRunWords();
  const [now, setNow] = useState(() => Date.now());
  const client = runClientFor(useApp().api);
  const [stats, setStats] = useState({ ...client.stats });
  useEffect(() => {
    if (view.state !== 'running' || !live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [view.state, live]);
  useEffect(() => client.onStats(() => setStats({ ...client.stats })), [client]);
  const p = progressOf(view, now);
  const pct = p.total ? Math.round((p.done / p.total) * 100) : 0;
  const history = useRunStore((s) => s.history);
  const ti = useInstallT();
  const past = useMemo(() => stepHistory(history, view.runId), [history, view.runId]);
  // A planned run (nothing started) is estimated as a whole: what the same steps took before.
  const estimate =
    (live && view.state === 'running') || !live ? estimateRemaining(view, past, now) : undefined;
  return (
    <div
      className="progress"
      data-testid="run-progress"
      data-run={view.runId}
      data-state={live ? view.state : 'planned'}
      data-first-seq={stats.firstSeq ?? ''}
      data-last-seq={stats.lastSeq}
      data-gaps={stats.gaps}
    >
      {view.demo && <DemoBadge testId="run-demo-badge" />}
      <progress max={p.total || 1} value={p.done} />
      <span>
        {p.done}/{p.total} ({pct} %)
        {!live && estimate && (
          <span data-testid="run-estimate" data-ms={Math.round(estimate.remainingMs)}>
            {' · '}
            {ti('expected').replace('{t}', duration(Math.max(1000, estimate.remainingMs)))}
            {estimateBasis(ti, estimate)}
          </span>
        )}
        {live && (
          <>
            {' · '}
            {duration(p.elapsedMs)} {t('elapsed')}
            {view.state === 'running' && (
              <span data-testid="run-estimate" data-ms={Math.round(estimate?.remainingMs ?? -1)}>
                {' · '}
                {!estimate
                  ? ti('noEstimate')
                  : estimate.overdue && estimate.remainingMs < 1000
                    ? ti('overEstimate')
                    : t('remaining').replace('{t}', duration(Math.max(1000, estimate.remainingMs)))}
                {estimate && estimateBasis(ti, estimate)}
              </span>
            )}
            {' · '}
            <span
              className={`badge state-${view.state}`}
              data-testid="run-state"
              data-state={view.state}
            >
              {words.state(view.state)}
            </span>
          </>
        )}
      </span>
      {stats.gaps > 0 && (
        <span className="badge state-failed">
          {stats.gaps} {t('gaps')}
        </span>
      )}
      {!stats.complete && <span className="muted">{t('streamIncomplete')}</span>}
      {view.warnings.map((w) => (
        <span key={w} className="badge state-unknown">
          {w}
        </span>
      ))}
    </div>
  );
}

/** Where an estimate comes from: how many earlier runs, and steps none of them finished. */
function estimateBasis(ti: (k: InstallTextKey) => string, e: Estimate): string {
  const runs = ` (${ti(e.runs === 1 ? 'fromRun' : 'fromRuns').replace('{n}', String(e.runs))}`;
  const unknown =
    e.unknownSteps > 0
      ? `; ${ti('stepsWithoutHistory').replace('{n}', String(e.unknownSteps))}`
      : '';
  return `${runs}${unknown})`;
}

function StepList({ view }: { view: RunView }) {
  const t = useOpT();
  const words = useRunWords();
  const select = useRunStore((s) => s.select);
  const selected = useRunStore((s) => s.selected);
  const phases = [...new Set(view.steps.map((s) => s.phase))];
  return (
    <div className="step-list" data-testid="step-list">
      {phases.map((phase) => (
        <section key={phase}>
          <h3>{phaseLabel(phase, t)}</h3>
          <ol>
            {view.steps
              .filter((s) => s.phase === phase)
              .map((s) => (
                <li key={s.id}>
                  <button
                    type="button"
                    className={`step state-${s.state}`}
                    data-testid={`runstep-${s.id}`}
                    data-state={s.state}
                    aria-current={selected?.stepId === s.id ? 'true' : undefined}
                    disabled={!view.runId}
                    onClick={() => s.hosts[0] && select(s.id, s.hosts[0])}
                    title={s.reason}
                  >
                    <span className="dot" /> {words.title(s)}
                    <span className="muted"> {s.id}</span>
                  </button>
                </li>
              ))}
          </ol>
        </section>
      ))}
    </div>
  );
}

function HostMatrix({ view }: { view: RunView }) {
  const t = useOpT();
  const words = useRunWords();
  const select = useRunStore((s) => s.select);
  const hosts = [...new Set(view.steps.flatMap((s) => s.hosts))];
  return (
    <div className="host-matrix">
      <h3>{t('matrix')}</h3>
      <table>
        <thead>
          <tr>
            <th />
            {view.steps.map((s) => (
              <th key={s.id} title={words.title(s)}>
                <span className="vertical">{s.id}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {hosts.map((h) => (
            <tr key={h}>
              <th>{h}</th>
              {view.steps.map((s) => {
                const hs = s.hosts.includes(h) ? view.hosts[hostKey(s.id, h)] : undefined;
                return (
                  <td key={s.id}>
                    {hs && (
                      <button
                        type="button"
                        className={`cell state-${hs.state}`}
                        data-testid={`cell-${s.id}-${h}`}
                        data-state={hs.state}
                        title={`${s.id} @ ${h}: ${hs.state}${hs.attempt > 1 ? ` (${t('attempt')} ${hs.attempt})` : ''}${hs.message ? ` — ${hs.message}` : ''}`}
                        disabled={!view.runId}
                        onClick={() => select(s.id, h)}
                      />
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function HostStepDetail(props: { planFile: string; view: RunView; stepId: string; host: string }) {
  const { planFile, view, stepId, host } = props;
  const { api } = useApp();
  const t = useOpT();
  const words = useRunWords();
  const hs = view.hosts[hostKey(stepId, host)];
  const step = view.steps.find((s) => s.id === stepId);
  const [reason, setReason] = useState('');
  if (!hs || !step) return null;
  const failed = hs.state === 'failed' || hs.state === 'unknown' || hs.state === 'connection-lost';
  const pausedHere = view.paused?.stepId === stepId && view.paused.reason === 'step-failed';
  const canAct = view.state !== 'running' || pausedHere;
  return (
    <div className="host-step" data-testid="host-step-detail">
      <label>
        {t('host')}:{' '}
        <select
          value={host}
          onChange={(e) => useRunStore.getState().select(stepId, e.target.value)}
          data-testid="detail-host"
        >
          {step.hosts.map((h) => (
            <option key={h}>{h}</option>
          ))}
        </select>
      </label>
      <span className={`badge state-${hs.state}`}>{words.state(hs.state)}</span>
      {hs.attempt > 0 && (
        <span className="muted">
          {t('attempt')} {hs.attempt}
          {hs.exitCode !== undefined && ` · exit ${hs.exitCode}`}
        </span>
      )}
      {hs.message && <span className="muted">{hs.message}</span>}
      {failed && canAct && (
        <button
          type="button"
          data-testid="retry-host"
          onClick={() => void attempt(api.runRetry({ planFile, runId: view.runId, stepId, host }))}
        >
          {t('retryOn')} {host}
        </button>
      )}
      {failed && canAct && (
        <>
          <input
            placeholder={t('reason')}
            aria-label={t('reason')}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
          />
          <button
            type="button"
            disabled={!reason.trim()}
            onClick={() =>
              void attempt(api.runSkip({ planFile, runId: view.runId, stepId, reason }))
            }
          >
            {t('skip')}
          </button>
        </>
      )}
    </div>
  );
}

function PausePanel({ view }: { view: RunView }) {
  const { api } = useApp();
  const t = useOpT();
  const words = useRunWords();
  const paused = view.paused!;
  const [preview, setPreview] = useState<StepPreview | undefined>(undefined);
  const [reason, setReason] = useState('');
  const step = view.steps.find((s) => s.id === paused.stepId);
  useEffect(() => {
    let gone = false;
    void api.runStepPreview({ runId: view.runId, stepId: paused.stepId }).then((r) => {
      if (!gone && r.ok) setPreview(r.value);
    });
    return () => {
      gone = true;
    };
  }, [api, view.runId, paused.stepId]);
  const decide = (decision: Parameters<ApiClient['runDecide']>[0]['decision']) =>
    void attempt(api.runDecide({ runId: view.runId, stepId: paused.stepId, decision }));
  const failedHosts =
    step?.hosts.filter((h) => {
      const s = view.hosts[hostKey(paused.stepId, h)]?.state;
      return s && s !== 'succeeded' && s !== 'skipped';
    }) ?? [];
  return (
    <section className="pause-panel" data-testid="pause-panel" data-reason={paused.reason}>
      <h3>
        {paused.reason === 'before-step' ? t('pausedBefore') : t('pausedFailed')}:{' '}
        {step ? words.title(step) : paused.stepId} <span className="muted">{paused.stepId}</span>
      </h3>
      {preview?.description && <p>{preview.description}</p>}
      {preview && (
        <p>
          {t('targets')}: {preview.hosts.join(', ')}
        </p>
      )}
      <div className="toolbar">
        {paused.reason === 'before-step' ? (
          <>
            <button type="button" data-testid="decide-run" onClick={() => decide({ kind: 'run' })}>
              {t('run')}
            </button>
            <button
              type="button"
              data-testid="decide-run-all"
              onClick={() => decide({ kind: 'run-all' })}
            >
              {t('runRest')}
            </button>
          </>
        ) : (
          <>
            <button
              type="button"
              data-testid="decide-retry"
              onClick={() => decide({ kind: 'retry' })}
            >
              {t('retryAll')}
            </button>
            {failedHosts.map((h) => (
              <button
                type="button"
                key={h}
                data-testid={`decide-retry-${h}`}
                onClick={() => decide({ kind: 'retry', hosts: [h] })}
              >
                {t('retryOn')} {h}
              </button>
            ))}
            <button type="button" onClick={() => decide({ kind: 'run' })}>
              {t('continue')}
            </button>
          </>
        )}
        <input
          placeholder={t('reason')}
          aria-label={t('reason')}
          data-testid="decide-reason"
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
        <button
          type="button"
          data-testid="decide-skip"
          disabled={!reason.trim()}
          onClick={() => decide({ kind: 'skip', reason })}
        >
          {t('skip')}
        </button>
        <button type="button" onClick={() => decide({ kind: 'stop' })}>
          {t('stop')}
        </button>
      </div>
      {preview && (
        <details open={paused.reason === 'before-step'}>
          <summary>
            {t('script')} · {t('files')} ({preview.files.length})
          </summary>
          {preview.check && (
            <>
              <h4>{t('check')}</h4>
              <pre>{preview.check}</pre>
            </>
          )}
          <h4>{t('script')}</h4>
          <pre data-testid="preview-run">{preview.run}</pre>
          {preview.files.map((f) => (
            <details key={`${f.path}@${f.hosts?.join(',') ?? ''}`}>
              <summary>
                {f.path} <span className="muted">({f.bytes} B)</span>
                {/* A host's own file (its env, its rendered configuration) goes to it alone. */}
                {f.hosts && <span className="muted"> → {f.hosts.join(', ')}</span>}
              </summary>
              {f.text !== undefined ? <pre>{f.text}</pre> : <p className="muted">binary</p>}
            </details>
          ))}
        </details>
      )}
    </section>
  );
}

function BundleButton({ planFile, runId }: { planFile: string; runId: string }) {
  const { api } = useApp();
  const t = useOpT();
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      disabled={busy}
      onClick={() => {
        const out = window.prompt(t('logBundle'), `ustart-logs-${runId}.zip`);
        if (!out) return;
        setBusy(true);
        void attempt(api.logsCollect({ planFile, runId, out }))
          .then((r) => {
            if (r)
              useUiStore
                .getState()
                .notify({ kind: 'info', text: `${t('bundleSaved')}: ${r.out} (${r.bytes} B)` });
          })
          .finally(() => setBusy(false));
      }}
    >
      {t('logBundle')}
    </button>
  );
}

function History(props: { runs: RunInfo[]; shown: string | undefined; onShow(id: string): void }) {
  const t = useOpT();
  const words = useRunWords();
  return (
    <section className="history" data-testid="run-history">
      <h3>{t('history')}</h3>
      {props.runs.length === 0 ? (
        <p className="muted">{t('noRuns')}</p>
      ) : (
        <table>
          <tbody>
            {props.runs.map((r) => (
              <tr key={r.runId} aria-current={r.runId === props.shown ? 'true' : undefined}>
                <td>
                  {r.runId} {r.demo && <DemoBadge testId={`history-demo-${r.runId}`} />}
                </td>
                <td>{new Date(r.startedAt).toLocaleString()}</td>
                <td>{[...new Set(r.steps.map((s) => phaseLabel(s.phase, t)))].join(', ')}</td>
                <td>
                  <span className={`badge state-${r.state}`}>{words.state(r.state)}</span>
                </td>
                <td>
                  <button type="button" onClick={() => props.onShow(r.runId)}>
                    {t('show')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
