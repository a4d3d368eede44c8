/**
 * The api over Electron IPC. One `handle` helper checks who is asking (the main frame of
 * our window, showing our page) before the contract parses the input; events from the core
 * are forwarded to the window. Errors cross as `Result` data because Electron's IPC drops
 * an Error's fields.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import {
  CHANNELS,
  EVENT_NAMES,
  callHandler,
  fail,
  type Channel,
  type Handlers,
  type Result,
} from '../src/api/index.js';
import type { Core } from '../src/app/index.js';
import { isAppPage } from './app-protocol.js';

export interface IpcBinding {
  dispose(): void;
}

/** True when the request comes from our window's main frame showing our own page. */
function trustedSender(event: IpcMainInvokeEvent, win: BrowserWindow, pageUrl: string): boolean {
  const frame = event.senderFrame;
  if (!frame || win.isDestroyed() || event.sender !== win.webContents) return false;
  if (frame !== win.webContents.mainFrame) return false;
  return isAppPage(pageUrl, frame.url);
}

/** Registers one channel: sender check, input parsed with the contract, a `Result` back. */
export function handle<C extends Channel>(
  channel: C,
  win: BrowserWindow,
  pageUrl: string,
  fn: Handlers[C],
): void {
  ipcMain.handle(channel, async (event, input: unknown): Promise<Result<unknown>> => {
    if (!trustedSender(event, win, pageUrl)) {
      return fail('Forbidden', `${channel} was asked by a frame that is not uStart's window.`);
    }
    return callHandler(channel, fn, input);
  });
}

export function bindIpc(core: Core, win: BrowserWindow, pageUrl: string): IpcBinding {
  for (const channel of CHANNELS) handle(channel, win, pageUrl, core.handlers[channel]);
  const offs = EVENT_NAMES.map((event) =>
    core.events.on(event, (payload) => {
      if (!win.isDestroyed()) win.webContents.send(event, payload);
    }),
  );
  return {
    dispose() {
      for (const channel of CHANNELS) ipcMain.removeHandler(channel);
      for (const off of offs) off();
    },
  };
}
