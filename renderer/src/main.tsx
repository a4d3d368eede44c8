import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Actions } from './actions';
import { connect } from './api';
import { App } from './components/App';
import { AppContext } from './context';
import { DICTIONARIES } from './i18n';
import { RunClientProvider } from './install/run-client-context';
import { startValidation } from './state/findings-store';
import { keepSession, restoreSession } from './state/session-keep';
import { useUiStore } from './state/ui-store';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

async function start(rootEl: HTMLElement) {
  const { api, onLost } = await connect();
  const info = await api.appInfo();
  const actions = new Actions(
    api,
    info.ok ? info.value : { mode: 'browser', nativeDialogs: false, pdf: false, demo: null },
  );
  onLost(() =>
    useUiStore
      .getState()
      .notify({ kind: 'error', text: DICTIONARIES[useUiStore.getState().lang].disconnected }),
  );
  startValidation(api);
  createRoot(rootEl).render(
    <StrictMode>
      <AppContext.Provider value={{ api, actions }}>
        <RunClientProvider>
          <App />
        </RunClientProvider>
      </AppContext.Provider>
    </StrictMode>,
  );
  // A reload reopens the plan that was open (with its unsaved edits); otherwise a demo
  // front starts on the demo site, ready to connect to the demo lab.
  const restored = await restoreSession(api);
  keepSession();
  if (!restored && actions.info.demo) await actions.open(actions.info.demo.planFile);
}

start(root).catch((e: unknown) => {
  root.textContent = `uStart could not start: ${String(e)}`;
});
