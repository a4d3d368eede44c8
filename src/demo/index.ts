/** The demo lab: simulated servers of a plan served as real SSH endpoints (docs/demo.md). */
export {
  startDemoLab,
  matchStep,
  DEMO_ADDRESS,
  type DemoLab,
  type DemoLabOptions,
  type DemoScenario,
} from './lab.js';
export { DemoTransport } from './transport.js';
export { demoHostKey, DEFAULT_DEMO_SEED, type DemoHostKey } from './host-key.js';
export type { DemoHost } from './host.js';
export { createDemoWorkspace, assertDemoPlan, DEMO_MARKER } from './run.js';
export { demoSteps, demoPhases } from './steps.js';
export {
  startDemoSession,
  demoRoute,
  demoOptionsFromArgv,
  type DemoSession,
  type DemoSessionOptions,
} from './session.js';
