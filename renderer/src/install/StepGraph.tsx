/**
 * The steps of each phase as a dependency graph (./step-graph-layout.ts), coloured by state
 * like the list: a step is a button that shows its log, an arrow runs from a step to each
 * step that waits for it, drawn in the colour of the step it leaves.
 */
import { useMemo } from 'react';
import { useRunStore, type RunView } from '../state/run-store';
import { DEFAULT_SIZE, layoutSteps } from './step-graph-layout';
import { useRunWords } from './texts';

export function StepGraph(props: { view: RunView; phaseLabel: (phase: string) => string }) {
  const words = useRunWords();
  const { view } = props;
  const select = useRunStore((s) => s.select);
  const selected = useRunStore((s) => s.selected);
  // The layout depends on the steps and their `after` only: a new state is no new layout.
  const shape = view.steps.map((s) => `${s.phase}:${s.id}<${s.after.join(',')}`).join(';');
  const layouts = useMemo(
    () =>
      [...new Set(view.steps.map((s) => s.phase))].map((phase) => ({
        phase,
        layout: layoutSteps(view.steps.filter((s) => s.phase === phase)),
      })),
    [shape],
  );
  const byId = new Map(view.steps.map((s) => [s.id, s]));
  const { nodeWidth, nodeHeight } = DEFAULT_SIZE;
  return (
    <div className="step-graph" data-testid="step-graph">
      {layouts.map(({ phase, layout }) => (
        <section key={phase}>
          <h3>{props.phaseLabel(phase)}</h3>
          <div
            className="graph-canvas"
            style={{ width: layout.width, height: layout.height }}
            data-testid={`step-graph-${phase}`}
          >
            <svg width={layout.width} height={layout.height} aria-hidden="true">
              <defs>
                <marker
                  id={`arrow-${phase}`}
                  viewBox="0 0 8 8"
                  refX="8"
                  refY="4"
                  markerWidth="7"
                  markerHeight="7"
                  orient="auto"
                >
                  <path d="M0,0 L8,4 L0,8 z" className="arrow-head" />
                </marker>
              </defs>
              {layout.edges.map((e) => (
                <path
                  key={`${e.from}>${e.to}`}
                  d={e.path}
                  className={`edge state-${byId.get(e.from)?.state ?? 'pending'}`}
                  markerEnd={`url(#arrow-${phase})`}
                  data-testid={`edge-${e.from}-${e.to}`}
                />
              ))}
            </svg>
            {layout.nodes.map((n) => {
              const s = byId.get(n.id)!;
              return (
                <button
                  type="button"
                  key={n.id}
                  className={`node state-${s.state}`}
                  style={{ left: n.x, top: n.y, width: nodeWidth, height: nodeHeight }}
                  data-testid={`graphstep-${s.id}`}
                  data-state={s.state}
                  data-column={n.column}
                  aria-current={selected?.stepId === s.id ? 'true' : undefined}
                  disabled={!view.runId}
                  title={`${words.title(s)} (${s.id}): ${words.state(s.state)}${s.reason ? ` — ${s.reason}` : ''}`}
                  onClick={() => s.hosts[0] && select(s.id, s.hosts[0])}
                >
                  <span className="dot" />
                  <span className="label">{words.title(s)}</span>
                </button>
              );
            })}
          </div>
        </section>
      ))}
    </div>
  );
}
