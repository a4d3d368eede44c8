/**
 * The desktop app's demo mode: `npm start` passes `--demo`, and the app opens the demo site
 * with its runs going to the demo lab in this process (docs/demo.md). Here so main/, which
 * reaches only src/api and src/app, stays a thin shell.
 */
import { demoOptionsFromArgv, startDemoSession, type DemoSession } from '../demo/index.js';

export type { DemoSession };

/** The demo session `argv` asks for (`--demo` and its switches), or undefined for a real app. */
export async function startDemoFromArgv(argv: readonly string[]): Promise<DemoSession | undefined> {
  const options = demoOptionsFromArgv(argv);
  return options ? startDemoSession(options) : undefined;
}
