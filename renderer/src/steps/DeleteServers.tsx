import { useState } from 'react';
import type { Plan } from '../../../src/api';
import { Modal } from '../components/Dialogs';
import { useT, useTn } from '../i18n';
import { usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';

/** "Delete selected servers": names the servers it deletes and asks before it does. */
export function DeleteServers({ plan }: { plan: Plan }) {
  const t = useT();
  const tn = useTn();
  const selected = useUiStore((s) => s.selected);
  const edit = usePlanStore((s) => s.edit);
  const [asking, setAsking] = useState(false);
  const names = plan.servers.filter((_, i) => selected.has(i)).map((s) => s.hostname);
  const shown = names.length > 8 ? [...names.slice(0, 8), '…'] : names;
  return (
    <>
      <button
        type="button"
        data-testid="delete-selected"
        disabled={selected.size === 0}
        onClick={() => setAsking(true)}
      >
        {t('deleteSelected')}
      </button>
      {asking && (
        <Modal title={t('deleteSelected')} onClose={() => setAsking(false)}>
          <p data-testid="delete-selected-question">
            {tn('deleteSelectedConfirm', names.length, { names: shown.join(', ') })}
          </p>
          <div className="toolbar end">
            <button type="button" onClick={() => setAsking(false)}>
              {t('cancel')}
            </button>
            <button
              type="button"
              data-testid="confirm-delete-selected"
              onClick={() => {
                edit((d) => {
                  d.servers = d.servers.filter((_, i) => !selected.has(i));
                });
                useUiStore.getState().select([]);
                setAsking(false);
              }}
            >
              {t('deleteSelected')}
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}
