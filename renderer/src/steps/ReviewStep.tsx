import { useEffect, useState } from 'react';
import { capacityAssumptions, type Capacity, type Plan } from '../../../src/api';
import { useAckT } from '../acknowledge/texts';
import { FindingLink } from '../components/FindingLink';
import { useApp } from '../context';
import { useT, type TextKey } from '../i18n';
import { useFindingsStore } from '../state/findings-store';
import { useUiStore } from '../state/ui-store';

const SEVERITIES = ['error', 'warning', 'info'] as const;

/** Horizontal SVG bars: the whole site against what is left after the worst rack loss. */
function Bars({
  rows,
}: {
  rows: Array<{ label: string; value: number; after?: number; max?: number; text?: string }>;
}) {
  return (
    <svg className="bars" width="100%" height={rows.length * 44} role="img">
      {rows.map((r, i) => {
        // Each bar is scaled on its own: vCPUs, GiB and TB share no axis.
        const max = Math.max(r.max ?? r.value, r.value, 1e-9);
        return (
          <g key={r.label} transform={`translate(0 ${i * 44})`}>
            <text x={0} y={14} className="bar-label">
              {r.label}: {r.text ?? Math.round(r.value).toLocaleString()}
              {r.after !== undefined ? ` → ${Math.round(r.after).toLocaleString()}` : ''}
            </text>
            <rect
              x={0}
              y={20}
              height={9}
              width={`${(100 * r.value) / max}%`}
              className="bar-total"
            />
            {r.after !== undefined && (
              <rect
                x={0}
                y={30}
                height={9}
                width={`${(100 * r.after) / max}%`}
                className="bar-after"
              />
            )}
          </g>
        );
      })}
    </svg>
  );
}

export function ReviewStep({ plan }: { plan: Plan }) {
  const t = useT();
  const lang = useUiStore((s) => s.lang);
  const ackT = useAckT();
  const { api, actions } = useApp();
  const findings = useFindingsStore((s) => s.findings);
  const [capacity, setCapacity] = useState<Capacity | undefined>();
  useEffect(() => {
    let live = true;
    void api.planCapacity({ plan }).then((r) => live && r.ok && setCapacity(r.value));
    return () => {
      live = false;
    };
  }, [api, plan]);
  const loss = capacity?.rackLoss;
  return (
    <section className="step" aria-labelledby="review-title">
      <h2 id="review-title">{t('stepReview')}</h2>
      <div className="review-layout">
        <div>
          <h3>{t('findings')}</h3>
          {findings.length === 0 && <p data-testid="no-findings">{t('noFindings')}</p>}
          {SEVERITIES.map((sev) => {
            const group = findings.filter((f) => f.severity === sev);
            if (group.length === 0) return null;
            const accepted = group.filter((f) => f.acknowledged).length;
            return (
              <details key={sev} open={sev !== 'info'} data-testid={`findings-${sev}`}>
                <summary>
                  {t(sev as TextKey)} ({group.length}
                  {accepted > 0 ? `, ${accepted} ${ackT('ackAccepted')}` : ''})
                </summary>
                <ul>
                  {group.map((f, i) => (
                    <li key={i}>
                      <FindingLink finding={f} />
                    </li>
                  ))}
                </ul>
              </details>
            );
          })}
        </div>
        <div>
          <h3>{t('capacity')}</h3>
          {capacity && (
            <>
              <Bars
                rows={[
                  { label: t('vcpu'), value: capacity.vcpu, ...(loss ? { after: loss.vcpu } : {}) },
                  {
                    label: t('ramGiB'),
                    value: capacity.ramGiB,
                    ...(loss ? { after: loss.ramGiB } : {}),
                  },
                  {
                    label: t('cephUsable'),
                    value: capacity.cephUsableTB,
                    ...(loss ? { after: loss.cephUsableTB } : {}),
                  },
                ]}
              />
              {loss && (
                <p data-testid="rack-loss">
                  {t('afterRackLoss')} {loss.rack}:{' '}
                  {!loss.controlPlaneQuorum
                    ? `${t('quorumLost')} (${t('quorumControllersIn')}: ${loss.controllersLost.join(', ')})`
                    : !loss.cephMonQuorum
                      ? t('monQuorumLost')
                      : t('quorumBothKept')}
                </p>
              )}
              <h4>{t('power')}</h4>
              <Bars
                rows={capacity.power.map((p) => ({
                  label: p.rack,
                  text: `${p.usedKw.toFixed(1)} / ${p.budgetKw} kW`,
                  value: p.usedKw,
                  max: p.budgetKw,
                }))}
              />
              <ul className="assumptions">
                {capacityAssumptions(capacity, lang).map((a) => (
                  <li key={a}>{a}</li>
                ))}
              </ul>
            </>
          )}
          <h3>{t('export')}</h3>
          <div className="toolbar">
            <button
              type="button"
              onClick={() => void actions.exportFile('yaml')}
              data-testid="export-yaml"
            >
              {t('exportYaml')}
            </button>
            <button
              type="button"
              onClick={() => void actions.exportFile('html')}
              data-testid="export-html"
            >
              {t('reportHtml')}
            </button>
            <button
              type="button"
              onClick={() => void actions.renderConfig()}
              data-testid="export-render"
            >
              {t('exportRender')}
            </button>
            {actions.info.pdf ? (
              <button
                type="button"
                onClick={() => void actions.exportFile('pdf')}
                data-testid="export-pdf"
              >
                {t('reportPdf')}
              </button>
            ) : (
              <button
                type="button"
                onClick={() => void actions.printView()}
                data-testid="print-view"
              >
                {t('reportPdf')} · {t('printView')}
              </button>
            )}
          </div>
        </div>
      </div>
    </section>
  );
}
