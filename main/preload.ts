/**
 * Preload: exposes the api client as `window.ustart` — one named function per request of
 * the contract and `on` for events — never ipcRenderer itself (STYLE.md, "Boundaries").
 * Answers are checked against the contract here, before the page sees them. It runs
 * sandboxed, so it is bundled as CommonJS with zod inside.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { createClient } from '../src/api/index.js';

const client = createClient({
  invoke: (channel, input) => ipcRenderer.invoke(channel, input),
  subscribe(event, listener) {
    const forward = (_e: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(event, forward);
    return () => {
      ipcRenderer.removeListener(event, forward);
    };
  },
});

// contextBridge copies plain objects; spreading keeps only the named functions.
contextBridge.exposeInMainWorld('ustart', { ...client });
