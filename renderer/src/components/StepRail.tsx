import { useT } from '../i18n';
import { useFindingsStore } from '../state/findings-store';
import { useUiStore } from '../state/ui-store';
import { stepOf } from '../logic/finding-steps';
import { HostPagesRail } from '../host-pages/HostPagesView';
import { useHostPagesStore } from '../state/host-pages-store';
import { WIZARD_STEPS, type StepId } from '../steps/registry';

/** The wizard's steps, walkable in any order, each with its count of errors. */
export function StepRail() {
  const t = useT();
  const step = useUiStore((s) => s.step);
  const setStep = useUiStore((s) => s.setStep);
  const operating = useHostPagesStore((s) => s.page !== undefined);
  const findings = useFindingsStore((s) => s.findings);
  const errors = new Map<StepId, number>();
  for (const f of findings) {
    if (f.severity !== 'error' || f.acknowledged) continue;
    const at = stepOf(f.path, f.family);
    errors.set(at, (errors.get(at) ?? 0) + 1);
  }
  return (
    <nav className="rail" aria-label="Wizard steps">
      <ol>
        {WIZARD_STEPS.map(({ id, label, badge }, i) => (
          <li key={id}>
            <button
              type="button"
              data-testid={`step-${id}`}
              aria-current={step === id && !operating ? 'step' : undefined}
              onClick={() => {
                useHostPagesStore.getState().open(undefined);
                setStep(id);
              }}
            >
              <span className="num">{i + 1}</span> {t(label)}
              {badge && (errors.get(id) ?? 0) > 0 && (
                <span className="badge error">{errors.get(id)}</span>
              )}
            </button>
          </li>
        ))}
        <HostPagesRail first={WIZARD_STEPS.length + 1} />
      </ol>
    </nav>
  );
}
