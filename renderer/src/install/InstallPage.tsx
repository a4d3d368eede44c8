/**
 * Install: the runbook's phases (run:phases) as steps with state colours, a host × step
 * matrix, progress with elapsed time and an estimate, start / cancel / retry / skip /
 * resume, the step-by-step pause with what the step will do, the run history, and the live
 * log of the step and host chosen. Each part is a component of its own in this folder.
 */
import { useEffect, useMemo, useState } from 'react';
import type { RunOptions } from '../../../src/api';
import { useApp } from '../context';
import { useOpT } from '../host-pages/texts';
import { selectInstall, usePageMemory } from '../state/page-memory-store';
import { selectPlan, usePlanStore } from '../state/plan-store';
import { hostKey, useRunStore, type RunView } from '../state/run-store';
import { attempt, notifyError } from './attempt';
import { BundleButton } from './BundleButton';
import { HostMatrix } from './HostMatrix';
import { HostStepDetail } from './HostStepDetail';
import './install.css';
import { InstallSummary } from './InstallSummary';
import { LogView } from './LogView';
import {
  EMPTY_OS_INSTALL,
  OsInstallFields,
  type OsInstallFieldValues,
  loadOsInstall,
  osInstallOption,
  saveOsInstall,
} from './OsInstallFields';
import { PausePanel } from './PausePanel';
import { changesHosts, usePhaseLabel, usePhases } from './phases';
import { Progress } from './Progress';
import { useRunClient } from './run-client-context';
import { RunHistory } from './RunHistory';
import { StepGraph } from './StepGraph';
import { StepList } from './StepList';
import { useInstallT } from './texts';

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

export function InstallPage() {
  const { api } = useApp();
  const t = useOpT();
  const planFile = usePlanStore((s) => s.file);
  const view = useRunStore((s) => s.view);
  const history = useRunStore((s) => s.history);
  const selected = useRunStore((s) => s.selected);
  const client = useRunClient();
  const runbookPhases = usePhases();
  const phaseLabel = usePhaseLabel(runbookPhases);
  // The choices: every phase but the resets, which have their own confirmation (CLI).
  const choices = runbookPhases.filter((p) => p.resetOf === undefined).map((p) => p.id);
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
  const [os, setOs] = useState<OsInstallFieldValues>(EMPTY_OS_INSTALL);
  const [osError, setOsError] = useState<string | undefined>(undefined);
  const planServers = usePlanStore((s) => selectPlan(s)?.servers);
  const servers = useMemo(() => planServers?.map((x) => x.hostname) ?? [], [planServers]);
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
    if (planFile) setOs(loadOsInstall(planFile));
    setOsError(undefined);
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
  const editOs = (next: OsInstallFieldValues) => {
    setOs(next);
    setOsError(undefined);
    saveOsInstall(planFile, next);
  };
  const osChosen = (list: readonly string[]) => list.includes('os-install');
  /**
   * The os-install inputs for a run that installs the OS: given when the fields are complete,
   * none when nothing was typed (the core then says what a real site needs; the demo needs
   * none), undefined after saying what is wrong with half-filled fields.
   */
  const osFor = (
    installs: boolean,
  ): { given?: NonNullable<RunOptions['osInstall']> } | undefined => {
    if (!installs) return {};
    const typed = os.advertise.trim() || os.authorizedKeys.trim() || os.port.trim();
    const r = osInstallOption(os, servers);
    if (r.ok) return { given: r.value };
    if (!typed) return {};
    setOsError(ti(r.problem));
    notifyError(ti(r.problem));
    return undefined;
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
    const b = bundleFor(phases.some((p) => changesHosts(runbookPhases, p)));
    if (!b) return;
    const o = osFor(osChosen(phases));
    if (!o) return;
    const r = await attempt(
      api.runStart({
        planFile,
        phases,
        stepByStep,
        pauseOnFailure: true,
        ...(b.given ? { bundle: b.given } : {}),
        ...(o.given ? { osInstall: o.given } : {}),
      }),
    );
    // Typed for that start only: a later run asks again.
    if (o.given) setOs((cur) => ({ ...cur, confirmReinstall: '', acceptReportedHostKeys: false }));
    if (r) await openRun(r.runId);
  };
  const resume = async (runId: string) => {
    const b = bundleFor(!!view?.steps.some((s) => changesHosts(runbookPhases, s.phase)));
    if (!b) return;
    const o = osFor(!!view?.steps.some((s) => s.phase === 'os-install'));
    if (!o) return;
    const r = await attempt(
      api.runResume({
        planFile,
        runId,
        stepByStep,
        ...(b.given ? { bundle: b.given } : {}),
        ...(o.given ? { osInstall: o.given } : {}),
      }),
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
        {choices.map((p) => (
          <label key={p} className="check">
            <input
              type="checkbox"
              data-testid={`phase-${p}`}
              checked={phases.includes(p)}
              onChange={(e) =>
                setPhases((cur) =>
                  choices.filter((x) => (x === p ? e.target.checked : cur.includes(x))),
                )
              }
            />
            {phaseLabel(p)}
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
          disabled={active || phases.length === 0 || runbookPhases.length === 0}
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
      {(osChosen(phases) || view?.steps.some((s) => s.phase === 'os-install')) && (
        <OsInstallFields value={os} onChange={editOs} servers={servers} error={osError} />
      )}
      {shown && <Progress view={shown} live={!!view} />}
      {view?.state === 'succeeded' &&
        view.steps.some((s) => changesHosts(runbookPhases, s.phase)) && (
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
            <StepGraph view={shown} phaseLabel={phaseLabel} />
          ) : (
            <StepList view={shown} phaseLabel={phaseLabel} />
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
      <RunHistory
        runs={history}
        shown={view?.runId}
        onShow={(id) => void openRun(id)}
        phaseLabel={phaseLabel}
      />
    </div>
  );
}
