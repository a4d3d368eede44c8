/**
 * The api client of the page: the Electron preload's `window.ustart`, or, in browser mode,
 * the same contract over the server's WebSocket. The rest of the UI sees one `ApiClient`.
 */
import { API_SOCKET_PATH, createClient, wsTransport, type ApiClient } from '../../src/api';

declare global {
  interface Window {
    /** Set by the Electron preload. */
    ustart?: ApiClient;
  }
}

export interface Connection {
  api: ApiClient;
  /** Called when the browser-mode socket closes; never in Electron. */
  onLost(listener: () => void): void;
}

export async function connect(): Promise<Connection> {
  if (window.ustart) return { api: window.ustart, onLost: () => undefined };
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  // Keep the token out of the address bar (screenshots, projector); the server's cookie
  // lets a reload back in.
  if (token) {
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  const socket = new WebSocket(`ws://${location.host}${API_SOCKET_PATH}${query}`);
  const transport = wsTransport(socket);
  await transport.ready;
  return {
    api: createClient(transport),
    onLost: (listener) => void transport.onClose(listener),
  };
}
