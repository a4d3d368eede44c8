import { useState } from 'react';
import type { FindingView } from '../../../src/api';
import { Modal } from '../components/Dialogs';
import {
  acknowledge,
  acknowledgementsOf,
  canAcknowledge,
  withdrawAcknowledgement,
} from '../logic/acknowledgements';
import { selectPlan, usePlanStore } from '../state/plan-store';
import { useAckT } from './texts';
import './acknowledge.css';

/**
 * Beside a finding: "Acknowledge…" for a warning or info not accepted yet (it asks for the
 * reason), or the accepted mark and "Withdraw" for an accepted one. Errors get neither: they
 * cannot be acknowledged. Both write the plan through `usePlanStore.edit`, so undo takes them
 * back, and the findings follow (the core marks what `acknowledgements` covers).
 */
export function AcknowledgeAction({ finding, place }: { finding: FindingView; place: string }) {
  const t = useAckT();
  const plan = usePlanStore(selectPlan);
  const [asking, setAsking] = useState(false);
  if (finding.acknowledged) {
    const { reason, by } = finding.acknowledged;
    // An entry without a path accepts the whole rule; withdrawing it un-accepts them all.
    const wholeRule =
      plan !== undefined &&
      acknowledgementsOf(plan, finding).some((i) => plan.acknowledgements?.[i]?.path === undefined);
    return (
      <>
        <span
          className="ack-badge"
          data-testid="ack-badge"
          data-ack-rule={finding.rule}
          title={by ? `${reason} (${t('ackAcceptedBy')} ${by})` : reason}
        >
          {t('ackAccepted')}
        </span>
        <button
          type="button"
          className="ack-action"
          data-testid="ack-withdraw"
          data-ack-rule={finding.rule}
          title={wholeRule ? t('ackWithdrawRule') : t('ackWithdrawTitle')}
          onClick={() =>
            usePlanStore.getState().edit((d) => void withdrawAcknowledgement(d, finding))
          }
        >
          {t('ackWithdraw')}
        </button>
      </>
    );
  }
  if (!canAcknowledge(finding)) return null;
  return (
    <>
      <button
        type="button"
        className="ack-action"
        data-testid="ack-open"
        data-ack-rule={finding.rule}
        title={t('ackActionTitle')}
        onClick={() => setAsking(true)}
      >
        {t('ackAction')}
      </button>
      {asking && (
        <AcknowledgeDialog finding={finding} place={place} onClose={() => setAsking(false)} />
      )}
    </>
  );
}

/** Asks for the reason (required), who accepts (optional) and whether for the whole rule. */
function AcknowledgeDialog({
  finding,
  place,
  onClose,
}: {
  finding: FindingView;
  place: string;
  onClose(): void;
}) {
  const t = useAckT();
  const [reason, setReason] = useState('');
  const [by, setBy] = useState('');
  const [wholeRule, setWholeRule] = useState(false);
  const ok = reason.trim() !== '';
  return (
    <Modal title={t('ackTitle')} onClose={onClose}>
      <form
        method="dialog"
        className="ack-form"
        data-testid="ack-dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (!ok) return;
          usePlanStore.getState().edit((d) => acknowledge(d, finding, { reason, by, wholeRule }));
          onClose();
        }}
      >
        <p className={`ack-finding ${finding.severity}`}>
          <strong>{place}</strong>: {finding.message}
          <br />
          <small>
            <code>{finding.rule}</code>
          </small>
        </p>
        <small>{t('ackExplain')}</small>
        <label>
          {t('ackReason')}
          <textarea
            autoFocus
            required
            rows={3}
            value={reason}
            placeholder={t('ackReasonPlaceholder')}
            data-testid="ack-reason"
            aria-invalid={!ok}
            onChange={(e) => setReason(e.target.value)}
          />
        </label>
        <label>
          {t('ackBy')}
          <input value={by} data-testid="ack-by" onChange={(e) => setBy(e.target.value)} />
        </label>
        <label className="inline">
          <input
            type="checkbox"
            checked={wholeRule}
            data-testid="ack-whole-rule"
            onChange={(e) => setWholeRule(e.target.checked)}
          />
          {t('ackWholeRule')}
        </label>
        <div className="toolbar end">
          <button type="button" onClick={onClose}>
            {t('cancel')}
          </button>
          <button type="submit" disabled={!ok} data-testid="ack-ok">
            {t('ackOk')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
