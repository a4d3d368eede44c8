/**
 * Electron main process: one window bound to the core through the api contract. It holds no
 * domain logic (STYLE.md, "Boundaries"): plans, validation and reports live in src/app; this
 * file supplies what only Electron can — the window, its security settings, native
 * dialogs, the menu, printing to PDF.
 */
import { app, BrowserWindow, dialog, Menu, protocol, session, shell } from 'electron';
import { join } from 'node:path';
import type { FilePurpose, MenuCommand } from '../src/api/index.js';
import { startDemoFromArgv } from '../src/app/demo.js';
import { createCore, openStateDir, type Core, type Dialogs } from '../src/app/index.js';
import {
  APP_SCHEME,
  RENDERER_CSP,
  rendererPageUrl,
  rendererRoot,
  serveRendererRequest,
} from './app-protocol.js';
import { allowedExternalUrl } from './external-links.js';
import { bindIpc } from './ipc.js';
import { buildMenu } from './menu.js';
import { nodePtyTerminals } from './local-terminal.js';
import { safeStorageVault } from './secret-vault.js';
import { loadWindowState, trackWindowState } from './window-state.js';

// The page's scheme must be privileged before the app is ready
// (docs/upstream-facts.md#electron-privileged-schemes). Standard: relative URLs resolve and
// the page has an origin of its own, with localStorage; secure: treated like https. It may
// not bypass the CSP, register service workers or stream.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

const FILTERS: Record<FilePurpose, Electron.FileFilter[]> = {
  plan: [{ name: 'Site plan', extensions: ['yaml', 'yml'] }],
  yaml: [{ name: 'YAML', extensions: ['yaml', 'yml'] }],
  csv: [{ name: 'CSV inventory', extensions: ['csv', 'txt'] }],
  'report-html': [{ name: 'HTML report', extensions: ['html'] }],
  'report-pdf': [{ name: 'PDF report', extensions: ['pdf'] }],
  folder: [],
  handover: [],
};

const SECURE_PREFERENCES = {
  sandbox: true,
  contextIsolation: true,
  nodeIntegration: false,
  webSecurity: true,
  spellcheck: false,
} as const;

let win: BrowserWindow | undefined;
let dirty = false;

function nativeDialogs(): Dialogs {
  return {
    async open(purpose) {
      const parent = win;
      const options: Electron.OpenDialogOptions = {
        properties: ['openFile'],
        filters: FILTERS[purpose],
      };
      const r = parent
        ? await dialog.showOpenDialog(parent, options)
        : await dialog.showOpenDialog(options);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    async save(purpose, suggestedName) {
      // A folder is chosen, not named: the open dialog in directory mode does that.
      if (purpose === 'folder') {
        const options: Electron.OpenDialogOptions = {
          properties: ['openDirectory', 'createDirectory'],
        };
        const r = win
          ? await dialog.showOpenDialog(win, options)
          : await dialog.showOpenDialog(options);
        return r.canceled ? null : (r.filePaths[0] ?? null);
      }
      const options: Electron.SaveDialogOptions = {
        defaultPath: suggestedName,
        filters: FILTERS[purpose],
      };
      const r = win
        ? await dialog.showSaveDialog(win, options)
        : await dialog.showSaveDialog(options);
      return r.canceled ? null : (r.filePath ?? null);
    },
  };
}

/** Prints a standalone report page to PDF in a hidden window that runs no script. */
async function printPdf(html: string): Promise<Uint8Array> {
  const hidden = new BrowserWindow({
    show: false,
    webPreferences: { ...SECURE_PREFERENCES, javascript: false },
  });
  try {
    await hidden.loadURL(
      `data:text/html;charset=utf-8;base64,${Buffer.from(html).toString('base64')}`,
    );
    return await hidden.webContents.printToPDF({ printBackground: true, pageSize: 'A4' });
  } finally {
    hidden.destroy();
  }
}

function refreshMenu(core: Core, recent: Array<{ file: string }>): void {
  Menu.setApplicationMenu(
    buildMenu({
      recent,
      send: (command: MenuCommand, file?: string) =>
        core.events.emit('menu:command', file === undefined ? { command } : { command, file }),
      clearRecent: () => void core.client.recentClear(),
      openLink: openExternally,
    }),
  );
}

/** Opens `url` in the user's browser when the allow-list lets it out; drops it otherwise. */
function openExternally(url: string): void {
  const allowed = allowedExternalUrl(url);
  if (allowed !== undefined) void shell.openExternal(allowed);
}

async function createWindow(core: Core, pageUrl: string): Promise<BrowserWindow> {
  const stateFile = join(app.getPath('userData'), 'window-state.json');
  const state = await loadWindowState(stateFile);
  const created = new BrowserWindow({
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    width: state.width,
    height: state.height,
    minWidth: 1024,
    minHeight: 640,
    title: 'uStart',
    show: false,
    webPreferences: {
      ...SECURE_PREFERENCES,
      preload: join(import.meta.dirname, '../preload/index.cjs'),
    },
  });
  if (state.maximized) created.maximize();
  const stopTracking = trackWindowState(created, stateFile);
  created.once('ready-to-show', () => created.show());
  // Nothing but the app's own page may load in the window; the links uStart has (the
  // allow-list in main/external-links.ts) open in the browser, every other URL nowhere.
  created.webContents.setWindowOpenHandler(({ url }) => {
    openExternally(url);
    return { action: 'deny' };
  });
  created.webContents.on('will-navigate', (event) => {
    event.preventDefault();
    openExternally(event.url);
  });
  created.webContents.on('will-redirect', (event) => event.preventDefault());
  created.webContents.on('will-attach-webview', (event) => event.preventDefault());
  created.on('close', (event) => {
    if (!dirty) return;
    const choice = dialog.showMessageBoxSync(created, {
      type: 'warning',
      buttons: ['Discard changes', 'Cancel'],
      defaultId: 1,
      cancelId: 1,
      message: 'The plan has unsaved changes.',
      detail: 'Close anyway and lose them? Choose Cancel, then File → Save.',
    });
    if (choice === 1) event.preventDefault();
  });
  const binding = bindIpc(core, created, pageUrl);
  created.on('closed', () => {
    stopTracking();
    binding.dispose();
    win = undefined;
  });
  await created.loadURL(pageUrl);
  return created;
}

/** How long quitting waits for the core and the demo lab to close. */
const QUIT_TIMEOUT_MS = 5_000;

async function start(): Promise<void> {
  // Permission prompts (camera, notifications, geolocation…) are never needed: deny all.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) =>
    callback(false),
  );
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.webRequest.onHeadersReceived((details, callback) =>
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] },
    }),
  );
  // The built renderer over app://ustart/, confined to its folder (main/app-protocol.ts).
  // ELECTRON_RENDERER_URL (electron-vite dev) is honoured only when not packaged.
  const page = rendererPageUrl({
    isPackaged: app.isPackaged,
    devUrl: process.env.ELECTRON_RENDERER_URL,
  });
  if (!page.dev) {
    const root = await rendererRoot(join(import.meta.dirname, '../renderer'));
    protocol.handle(APP_SCHEME, (request) => serveRendererRequest(root, request));
  }
  // `npm start` passes --demo: the demo site, run against the demo lab in this process.
  const demo = await startDemoFromArgv(process.argv);
  // One state folder with the CLI (src/app/state-dir.ts); the app's old files in userData
  // are merged into it once. Secrets and the window's place stay in userData.
  const stateDir = await openStateDir({
    legacy: app.getPath('userData'),
    warn: (message) => console.error(message),
  });
  const core = createCore({
    mode: 'electron',
    stateDir,
    dialogs: nativeDialogs(),
    printPdf,
    ...(demo ? { demo: { planFile: demo.planFile } } : {}),
    hostPages: {
      vault: safeStorageVault(join(app.getPath('userData'), 'secrets.json')),
      localTerminals: nodePtyTerminals(),
      ...(demo ? { route: demo.route } : {}),
    },
    version: app.getVersion(),
    window: {
      setState(state) {
        dirty = state.dirty;
        win?.setTitle(state.title);
        win?.setDocumentEdited(state.dirty);
      },
    },
  });
  core.events.on('recent:changed', ({ files }) => refreshMenu(core, files));
  const recent = await core.client.recentList();
  refreshMenu(core, recent.ok ? recent.value.files : []);
  win = await createWindow(core, page.url);
  app.on('activate', () => {
    if (!win) void createWindow(core, page.url).then((w) => (win = w));
  });
  // Quitting waits once for the core and the demo lab to close (and its temp folder to go):
  // both are disposed even when one fails, and a disposal that hangs never keeps the app open.
  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    event.preventDefault();
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((done) => (timer = setTimeout(done, QUIT_TIMEOUT_MS)));
    void Promise.race([
      Promise.allSettled([core.dispose(), demo?.dispose()]).then(() => undefined),
      gaveUp,
    ]).finally(() => {
      clearTimeout(timer);
      closed = true;
      app.quit();
    });
  });
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  // Any other webContents (a devtools extension, a stray webview, the PDF window) gets the
  // same refusals; it opens nothing, not even allowed links.
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  // A start that fails (a bad ELECTRON_RENDERER_URL, a missing renderer build) says why
  // instead of leaving a process without a window.
  void app
    .whenReady()
    .then(start)
    .catch((e: unknown) => {
      dialog.showErrorBox('uStart could not start', e instanceof Error ? e.message : String(e));
      app.exit(1);
    });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
