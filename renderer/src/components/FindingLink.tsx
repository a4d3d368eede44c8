import type { FindingView } from '../../../src/api';
import { AcknowledgeAction } from '../acknowledge/Acknowledge';
import { useApp } from '../context';
import { useT } from '../i18n';
import { placeOf, type PlaceWords } from '../logic/finding-place';
import { stepOf, serverIndexOf } from '../logic/finding-steps';
import { selectPlan, usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';

/**
 * A finding as a link that jumps to its field, named the way the plan names things
 * ("sto-01 › NIC eno2"), with the wizard's hint and, where a button does what the hint
 * says, that button beside it.
 */
export function FindingLink({ finding }: { finding: FindingView }) {
  const t = useT();
  const { actions } = useApp();
  const plan = usePlanStore(selectPlan);
  const words: PlaceWords = {
    plan: t('placePlan'),
    site: t('placeSite'),
    servers: t('placeServers'),
    network: t('placeNetwork'),
    rack: t('placeRack'),
    nic: t('placeNic'),
    disk: t('placeDisk'),
    bond: t('placeBond'),
    bmc: t('placeBmc'),
    address: t('placeAddress'),
    roles: t('placeRoles'),
    acknowledgement: t('placeAck'),
  };
  const action = finding.ui?.action;
  const place = placeOf(plan, finding.path, words);
  return (
    <span className={finding.acknowledged ? 'finding-row acknowledged' : 'finding-row'}>
      <button
        type="button"
        className={`finding-link ${finding.severity}`}
        data-rule={finding.rule}
        onClick={() => {
          const ui = useUiStore.getState();
          const server = serverIndexOf(finding.path);
          if (server !== undefined) ui.select([server]);
          ui.jumpTo(stepOf(finding.path, finding.family), finding.path);
        }}
      >
        <span className="sev">{finding.severity}</span>{' '}
        <span className="place" data-testid="finding-place">
          {place}
        </span>
        : {finding.message}
        <small> — {finding.ui?.hint ?? finding.hint}</small>
        {finding.acknowledged && <small> ({finding.acknowledged.reason})</small>}
      </button>
      {action === 'ipam' && plan && (
        <button
          type="button"
          className="finding-action"
          data-testid="finding-run-ipam"
          onClick={() => void actions.runIpam(plan)}
        >
          {t('runIpam')}
        </button>
      )}
      <AcknowledgeAction finding={finding} place={place} />
    </span>
  );
}
