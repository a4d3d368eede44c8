/** The host-step chosen: its state, attempt and exit code, retry on that host, skip. */
import { useState } from 'react';
import { useApp } from '../context';
import { useOpT } from '../host-pages/texts';
import { hostKey, useRunStore, type RunView } from '../state/run-store';
import { attempt } from './attempt';
import { useRunWords } from './texts';

export function HostStepDetail(props: {
  planFile: string;
  view: RunView;
  stepId: string;
  host: string;
}) {
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
