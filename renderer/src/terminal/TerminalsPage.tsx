/**
 * Terminals: an SSH shell on any planned host (the same access settings and host-key rules
 * as runs), and in the desktop app a terminal on this computer for the consultant's tools.
 * Shells stay open while other pages are shown; they close with their tab.
 */
import { useEffect, useState } from 'react';
import { useApp } from '../context';
import { useOpT } from '../host-pages/texts';
import { useHostPagesStore } from '../state/host-pages-store';
import { selectPlan, usePlanStore } from '../state/plan-store';
import { useTerminalStore } from '../state/terminal-store';
import { useUiStore } from '../state/ui-store';
import { ShellTerminal } from './ShellTerminal';

/** Follows shell ends for every tab, whichever page is shown. */
export function useShellExits(): void {
  const { api } = useApp();
  useEffect(
    () =>
      api.on('shell:exit', (e) =>
        useTerminalStore.getState().exited(e.shellId, {
          code: e.code,
          signal: e.signal,
          ...(e.message ? { message: e.message } : {}),
        }),
      ),
    [api],
  );
}

export function TerminalsPage() {
  const { api, actions } = useApp();
  const t = useOpT();
  const planFile = usePlanStore((s) => s.file);
  const plan = usePlanStore(selectPlan);
  const tabs = useTerminalStore((s) => s.tabs);
  const active = useTerminalStore((s) => s.active);
  const page = useHostPagesStore((s) => s.page);
  const hosts = plan?.servers.map((s) => s.hostname) ?? [];
  const [host, setHost] = useState<string>('');
  const [busy, setBusy] = useState(false);
  const chosen = host || hosts[0] || '';

  const open = async (local: boolean) => {
    setBusy(true);
    try {
      const size = { cols: 120, rows: 32 };
      const r = local
        ? await api.shellOpenLocal(size)
        : await api.shellOpen({ planFile: planFile!, host: chosen, ...size });
      if (!r.ok) {
        useUiStore.getState().notify({ kind: 'error', text: r.error.message });
        return;
      }
      useTerminalStore.getState().add({
        shellId: r.value.shellId,
        host: local ? undefined : chosen,
        title: local ? t('localTerminal') : chosen,
      });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="terminals" data-testid="terminals-page">
      <div className="toolbar">
        {planFile ? (
          <>
            <select
              aria-label={t('host')}
              data-testid="shell-host"
              value={chosen}
              onChange={(e) => setHost(e.target.value)}
            >
              {hosts.map((h) => (
                <option key={h}>{h}</option>
              ))}
            </select>
            <button
              type="button"
              data-testid="shell-open"
              disabled={busy || !chosen}
              onClick={() => void open(false)}
            >
              {t('openShell')}
            </button>
          </>
        ) : (
          <span className="muted">{t('saveFirst')}</span>
        )}
        {actions.info.mode === 'electron' && (
          <button type="button" disabled={busy} onClick={() => void open(true)}>
            {t('localTerminal')}
          </button>
        )}
      </div>
      {tabs.length === 0 && <p className="muted">{t('noShells')}</p>}
      <div className="tabs" role="tablist">
        {tabs.map((tab) => (
          <span key={tab.shellId} className="tab" aria-selected={tab.shellId === active}>
            <button
              type="button"
              role="tab"
              data-testid={`shell-tab-${tab.title}`}
              onClick={() => useTerminalStore.getState().activate(tab.shellId)}
            >
              {tab.title}
              {tab.exited && ' ✝'}
            </button>
            <button
              type="button"
              aria-label={t('closeTab')}
              onClick={() => {
                useTerminalStore.getState().remove(tab.shellId);
                void api.shellClose({ shellId: tab.shellId });
              }}
            >
              ×
            </button>
          </span>
        ))}
      </div>
      {tabs.map((tab) => (
        <div key={tab.shellId}>
          {tab.exited && tab.shellId === active && (
            <p className="muted" data-testid="shell-ended">
              {t('shellEnded')}
              {tab.exited.code !== null ? ` (exit ${tab.exited.code})` : ''}
              {tab.exited.message ? `: ${tab.exited.message}` : ''}
            </p>
          )}
          <ShellTerminal
            shellId={tab.shellId}
            visible={page === 'terminals' && tab.shellId === active}
          />
        </div>
      ))}
    </div>
  );
}
