/** The core service behind every front (see ./core.ts). */
export { createCore, type Core, type CoreOptions, type Dialogs } from './core.js';
export { readStateFile, writeStateFile } from './state-file.js';
export { openStateDir, ustartStateDir, legacyAppStateDir, migrateStateDir } from './state-dir.js';
export type { SecretVault } from './access.js';
export type { LocalTerminal, LocalTerminals } from './shells.js';
export { ptyTerminals, type PtyTerminalOptions } from './local-terminal.js';
export type { RunStepSource } from './runs.js';
