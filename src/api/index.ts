/** The api contract between the core and every front (see ./contract.ts). */
export * from './contract.js';
export * from './result.js';
export * from './client.js';
export * from './dispatch.js';
export * from './names.js';
export * from './wire.js';
export * from './ws-transport.js';
export * from './utf8.js';
// The text catalogue sits below src/plan (which words capacity assumptions with it); the
// contract hands it on to the fronts.
export * from '../i18n/catalogue.js';
export * from './capacity-text.js';
