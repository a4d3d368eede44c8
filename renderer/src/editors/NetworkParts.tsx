import { useState } from 'react';
import type { Plan } from '../../../src/api';
import { Modal } from '../components/Dialogs';
import { useT } from '../i18n';
import {
  deleteNetwork,
  networkNameProblem,
  networkUses,
  renameNetwork,
  type NetworkUse,
} from '../logic/plan-edits';
import { usePlanStore } from '../state/plan-store';
import { PlanInput } from './PlanInput';
import { useEditorT, type EditorTextKey } from './texts';
import './editors.css';

/**
 * A network's name. Renaming is written on Enter or when the field is left, so references
 * follow the finished name, never a half-typed one that could match another network.
 */
export function NetworkNameCell({ index, name }: { index: number; name: string }) {
  const t = useEditorT();
  return (
    <PlanInput
      path={`/networks/${index}/name`}
      label={`name ${name}`}
      value={name}
      commitOn="blur"
      testId={`network-name-${index}`}
      problem={(v) => {
        const p = networkNameProblem(usePlanStore.getState().history!.present, index, v);
        return p === 'empty' ? t('renameEmpty') : p === 'taken' ? t('renameTaken') : undefined;
      }}
      commit={(v) => usePlanStore.getState().edit((d) => renameNetwork(d as Plan, index, v))}
    />
  );
}

const USE_TEXT: Record<NetworkUse['kind'], EditorTextKey> = {
  nic: 'useNic',
  'nic-tagged': 'useNicTagged',
  bond: 'useBond',
  'bond-tagged': 'useBondTagged',
  address: 'useAddress',
  acknowledgement: 'useAck',
};

/** Deletes a network; when something still uses it, asks first and lists what. */
export function NetworkDeleteButton({ plan, index }: { plan: Plan; index: number }) {
  const t = useEditorT();
  const tt = useT();
  const [uses, setUses] = useState<NetworkUse[] | undefined>();
  const name = plan.networks[index]!.name;
  const remove = () => {
    setUses(undefined);
    usePlanStore.getState().edit((d) => deleteNetwork(d as Plan, index));
  };
  return (
    <>
      <button
        type="button"
        data-testid={`delete-network-${name}`}
        aria-label={`${t('deleteNetwork')} ${name}`}
        onClick={() => {
          const found = networkUses(plan, name);
          if (found.length) setUses(found);
          else remove();
        }}
      >
        {t('deleteNetwork')}
      </button>
      {uses && (
        <Modal title={`${t('deleteNetworkTitle')} ${name}`} onClose={() => setUses(undefined)}>
          <p>
            <strong>{name}</strong> {t('deleteNetworkUses')}
          </p>
          <ul className="network-uses" data-testid="network-uses">
            {uses.map((u) => (
              <li key={u.path} data-use={u.path}>
                {u.server ? `${u.server} › ` : ''}
                {t(USE_TEXT[u.kind])} {u.name}
              </li>
            ))}
          </ul>
          <div className="toolbar end">
            <button type="button" onClick={() => setUses(undefined)}>
              {tt('cancel')}
            </button>
            <button type="button" data-testid="confirm-delete-network" onClick={remove}>
              {t('deleteNetworkConfirm')} ({uses.length})
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}
