/**
 * The application menu. Commands that change the plan go to the wizard as `menu:command`
 * events (the wizard owns the plan, its undo history and the unsaved-changes guard);
 * edit roles (cut, copy, paste) stay native so text fields behave as everywhere.
 */
import { app, Menu, type MenuItemConstructorOptions } from 'electron';
import type { MenuCommand } from '../src/api/index.js';

export interface MenuActions {
  send(command: MenuCommand, file?: string): void;
  recent: Array<{ file: string }>;
  clearRecent(): void;
  /** Opens a link in the browser, through the allow-list (main/external-links.ts). */
  openLink(url: string): void;
}

export function buildMenu(actions: MenuActions): Menu {
  const item = (label: string, command: MenuCommand, accelerator?: string) =>
    ({
      label,
      click: () => actions.send(command),
      ...(accelerator ? { accelerator } : {}),
    }) satisfies MenuItemConstructorOptions;
  const recent: MenuItemConstructorOptions[] = actions.recent.length
    ? [
        ...actions.recent.map((r) => ({
          label: r.file,
          click: () => actions.send('open-recent', r.file),
        })),
        { type: 'separator' },
        { label: 'Clear Recent', click: () => actions.clearRecent() },
      ]
    : [{ label: 'No recent plans', enabled: false }];
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        item('New Plan', 'new', 'CmdOrCtrl+N'),
        item('Open…', 'open', 'CmdOrCtrl+O'),
        { label: 'Open Recent', submenu: recent },
        { type: 'separator' },
        item('Save', 'save', 'CmdOrCtrl+S'),
        item('Save As…', 'save-as', 'CmdOrCtrl+Shift+S'),
        { type: 'separator' },
        item('Import CSV…', 'import-csv', 'CmdOrCtrl+I'),
        item('Export…', 'export', 'CmdOrCtrl+E'),
        { type: 'separator' },
        process.platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      label: 'Edit',
      submenu: [
        item('Undo', 'undo', 'CmdOrCtrl+Z'),
        item('Redo', 'redo', process.platform === 'darwin' ? 'Shift+Cmd+Z' : 'Ctrl+Y'),
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { role: 'selectAll' },
      ],
    },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    {
      label: 'Help',
      submenu: [
        {
          label: 'uStart Documentation',
          click: () => actions.openLink('https://uhurutec.com/'),
        },
        { label: `uStart ${app.getVersion()}`, enabled: false },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
