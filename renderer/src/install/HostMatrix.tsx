/** Host × step: each host-step's state as a cell; a click shows its log. */
import { useOpT } from '../host-pages/texts';
import { hostKey, useRunStore, type RunView } from '../state/run-store';
import { useRunWords } from './texts';

export function HostMatrix({ view }: { view: RunView }) {
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
