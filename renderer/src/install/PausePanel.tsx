/** A paused run: what the step will do (script, files) and the decisions to take. */
import { useEffect, useState } from 'react';
import type { ApiClient, StepPreview } from '../../../src/api';
import { useApp } from '../context';
import { useOpT } from '../host-pages/texts';
import { hostKey, type RunView } from '../state/run-store';
import { attempt } from './attempt';
import { useRunWords } from './texts';

export function PausePanel({ view }: { view: RunView }) {
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
