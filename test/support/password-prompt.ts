/**
 * Child process of src/cli/commands/run-prompt.test.ts, run in a pseudo-terminal: asks one
 * password through the CLI's terminal credential store. Its output stalls for a moment on
 * the prompt, like a slow terminal or a loaded laptop, which is the window in which what the
 * user types must already not echo.
 */
import { terminalCredentials } from '../../src/cli/commands/run.js';
import { createOutput } from '../../src/cli/output.js';

const real = createOutput();
const stall = new Int32Array(new SharedArrayBuffer(4));
const out = {
  ...real,
  stderr(text: string) {
    real.stderr(text);
    if (text.includes('password of')) Atomics.wait(stall, 0, 0, 700);
  },
};
const value = await terminalCredentials(out).get({ kind: 'password', host: 'h1', user: 'root' });
process.stdout.write(`\nGOT ${value?.length ?? -1}\n`);
