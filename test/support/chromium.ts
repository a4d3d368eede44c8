/**
 * Chromium's flags for a headless run on a machine without a GPU or network (Debian's
 * /usr/bin/chromium): without the background-networking flags it stalls on the closed
 * network. Shared by the end-to-end tests and the UI benchmarks.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
