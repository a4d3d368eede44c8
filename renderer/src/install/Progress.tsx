/** A run's progress: done/total, elapsed time, the estimate, the stream's health. */
import { useEffect, useMemo, useState } from 'react';
import { DemoBadge } from '../components/DemoBadge';
import { duration, useOpT } from '../host-pages/texts';
import { progressOf, useRunStore, type RunView } from '../state/run-store';
import { estimateRemaining, stepHistory, type Estimate } from './estimate';
import { useRunClient } from './run-client-context';
import { useInstallT, useRunWords, type InstallTextKey } from './texts';

export function Progress({ view, live }: { view: RunView; live: boolean }) {
  const t = useOpT();
  const words = useRunWords();
  const [now, setNow] = useState(() => Date.now());
  const client = useRunClient();
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
