/** The plan's earlier runs, newest first, each with its phases and state. */
import type { RunInfo } from '../../../src/api';
import { DemoBadge } from '../components/DemoBadge';
import { useOpT } from '../host-pages/texts';
import { useRunWords } from './texts';

export function RunHistory(props: {
  runs: RunInfo[];
  shown: string | undefined;
  onShow(id: string): void;
  phaseLabel: (phase: string) => string;
}) {
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
                <td>{[...new Set(r.steps.map((s) => props.phaseLabel(s.phase)))].join(', ')}</td>
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
