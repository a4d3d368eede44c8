/** The steps of a run, phase by phase, with their state; a click shows the step's log. */
import { useRunStore, type RunView } from '../state/run-store';
import { useRunWords } from './texts';

export function StepList(props: { view: RunView; phaseLabel: (phase: string) => string }) {
  const { view, phaseLabel } = props;
  const words = useRunWords();
  const select = useRunStore((s) => s.select);
  const selected = useRunStore((s) => s.selected);
  const phases = [...new Set(view.steps.map((s) => s.phase))];
  return (
    <div className="step-list" data-testid="step-list">
      {phases.map((phase) => (
        <section key={phase}>
          <h3>{phaseLabel(phase)}</h3>
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
