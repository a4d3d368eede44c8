/**
 * Connect, Install and Terminals beside the wizard: their rail buttons, the page shown,
 * and what must live whichever page is shown (open shells, the secret prompt).
 */
import { useEffect } from 'react';
import { ConnectPage } from '../connect/ConnectPage';
import { SecretDialog } from '../connect/SecretDialog';
import { useApp } from '../context';
import { InstallPage } from '../install/InstallPage';
import { useRunClient } from '../install/run-client-context';
import { PAGES, useHostPagesStore, type HostPage } from '../state/host-pages-store';
import { useTerminalStore } from '../state/terminal-store';
import { useUiStore } from '../state/ui-store';
import { TerminalsPage, useShellExits } from '../terminal/TerminalsPage';
import { useOpT, type OpTextKey } from './texts';
import './host-pages.css';

const LABELS: Record<HostPage, OpTextKey> = {
  connect: 'pageConnect',
  install: 'pageInstall',
  terminals: 'pageTerminals',
};

/** The rail's buttons for the install side, after the wizard's steps. */
export function HostPagesRail({ first }: { first: number }) {
  const t = useOpT();
  const page = useHostPagesStore((s) => s.page);
  const open = useHostPagesStore((s) => s.open);
  return (
    <>
      {PAGES.map((id, i) => (
        <li key={id}>
          <button
            type="button"
            data-testid={`page-${id}`}
            aria-current={page === id ? 'page' : undefined}
            onClick={() => open(id)}
          >
            <span className="num">{first + i}</span> {t(LABELS[id])}
          </button>
        </li>
      ))}
    </>
  );
}

/** The page of the install side, or nothing when the wizard's step is shown. */
export function HostPagesView() {
  const { api } = useApp();
  const runClient = useRunClient();
  const page = useHostPagesStore((s) => s.page);
  const hasShells = useTerminalStore((s) => s.tabs.length > 0);
  useShellExits();
  // A finding clicked elsewhere jumps to a wizard step: show the wizard then.
  useEffect(
    () =>
      useUiStore.subscribe((s, prev) => {
        if (s.focusPath && s.focusPath !== prev.focusPath)
          useHostPagesStore.getState().open(undefined);
      }),
    [],
  );
  // Leaving the page: let go of the run stream and the shells at once rather than on lease.
  useEffect(() => {
    const leave = () => {
      void runClient.close();
      for (const tab of useTerminalStore.getState().tabs)
        void api.shellClose({ shellId: tab.shellId });
    };
    window.addEventListener('pagehide', leave);
    return () => window.removeEventListener('pagehide', leave);
  }, [api, runClient]);
  return (
    <>
      {page === 'connect' && <ConnectPage />}
      {page === 'install' && <InstallPage />}
      {(page === 'terminals' || hasShells) && (
        <div hidden={page !== 'terminals'}>
          <TerminalsPage />
        </div>
      )}
      <SecretDialog />
    </>
  );
}
