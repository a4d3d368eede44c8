/** The api contract between the core and every front (see ./contract.ts). */
export * from './contract.js';
export * from './result.js';
export * from './client.js';
export * from './dispatch.js';
export * from './names.js';
export * from './wire.js';
export * from './ws-transport.js';
export * from './utf8.js';
export * from './i18n.js';
