/** Collects a run's log bundle into a file the user names. */
import { useState } from 'react';
import { useApp } from '../context';
import { useOpT } from '../host-pages/texts';
import { useUiStore } from '../state/ui-store';
import { attempt } from './attempt';

export function BundleButton({ planFile, runId }: { planFile: string; runId: string }) {
  const { api } = useApp();
  const t = useOpT();
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      disabled={busy}
      onClick={() => {
        const out = window.prompt(t('logBundle'), `ustart-logs-${runId}.zip`);
        if (!out) return;
        setBusy(true);
        void attempt(api.logsCollect({ planFile, runId, out }))
          .then((r) => {
            if (r)
              useUiStore
                .getState()
                .notify({ kind: 'info', text: `${t('bundleSaved')}: ${r.out} (${r.bytes} B)` });
          })
          .finally(() => setBusy(false));
      }}
    >
      {t('logBundle')}
    </button>
  );
}
