/**
 * The desktop app's local terminal: src/app's node-pty terminal, with the hint for a
 * node-pty not built for this Electron.
 */
import { ptyTerminals, type LocalTerminals } from '../src/app/index.js';

export function nodePtyTerminals(): LocalTerminals {
  return ptyTerminals({
    rebuildHint: 'rebuild it for this Electron with "npx electron-builder install-app-deps"',
  });
}
