/** The log bundle for the support team: docs/log-bundle.md. */
export {
  createLogBundle,
  RUN_FOLDER_LAYOUT,
  type BundleFileKind,
  type LogBundleHosts,
  type LogBundleManifest,
  type LogBundleOptions,
  type LogBundleProgress,
  type LogBundleResult,
} from './bundle.js';
export { collectLogBundle, parseSince, type CollectLogBundleOptions } from './collect.js';
export {
  HOST_LOG_UNITS,
  USTART_LOG_DIR,
  KERNEL_LOG_LINES,
  MAX_ITEM_BYTES,
  type HostItemResult,
  type HostResult,
} from './host-logs.js';
export { BundleRedactor, SECRET_RULES, REDACTED, REDACTED_KEY } from './redact.js';
export { MAX_ZIP_BYTES } from './zip-file.js';
