/**
 * Preload: exposes named functions bound to the api contract, never ipcRenderer itself
 * (STYLE.md, "Boundaries"). It runs sandboxed, so it is bundled as CommonJS.
 */
import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('ustart', {
  platform: process.platform,
});
