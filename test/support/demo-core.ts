/**
 * The demo lab and a test-mode core on it, as the integration tests of the demo front use
 * them: the demo workspace in `top/demo`, the core's state in `top/.ustart-app`, its root
 * `top`; only the lab's own host keys are trusted (no ~/.ssh files). The caller disposes
 * the core, then the session.
 */
import { join } from 'node:path';
import { createCore, type Core } from '../../src/app/index.js';
import {
  startDemoSession,
  type DemoSession,
  type DemoSessionOptions,
} from '../../src/demo/index.js';

export async function startDemoCore(
  top: string,
  demo: Omit<DemoSessionOptions, 'dir'>,
): Promise<{ session: DemoSession; core: Core }> {
  const session = await startDemoSession({ dir: join(top, 'demo'), ...demo });
  const core = createCore({
    mode: 'test',
    stateDir: join(top, '.ustart-app'),
    root: top,
    demo: { planFile: session.planFile },
    hostPages: { route: session.route, readOnlyKnownHosts: [], sshConfigFile: null },
  });
  return { session, core };
}
