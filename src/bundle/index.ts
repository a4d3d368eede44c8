/** The offline bundle: format, create, verify, push. The one entry point for fronts. */
export * from './events.js';
export {
  aggregateDigest,
  buildManifest,
  serializeManifest,
  parseManifest,
  BUNDLE_FORMAT_VERSION,
  ENTRY_KINDS,
  KIND_FOLDERS,
  MANIFEST_NAME,
  SIGNATURE_NAME,
  type EntryKind,
  type Manifest,
  type ManifestEntry,
} from './manifest.js';
export { entryPathProblem, isValidEntryPath, compareEntryPaths } from './entry-paths.js';
export {
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  signManifest,
  verifyManifestSignature,
} from './signature.js';
export {
  createBundle,
  resolveCreatedAt,
  IMAGE_ARCHIVE,
  type AddItem,
  type CreateBundleOptions,
  type CreatedBundle,
} from './create.js';
export { verifyBundle, locateBundle, type VerifyReport, type BundleContainer } from './verify.js';
export { parseSplitSize } from './split.js';
export {
  pullImages,
  parseMirrorOptions,
  loadMirrorFile,
  loadMirrorCredentials,
  DEFAULT_PLATFORMS,
  resolveImageDigests,
  parseImageReference,
  formatImageReference,
  type PullImagesOptions,
  type PulledImages,
  type ResolveDigestsOptions,
  type ResolvedDigest,
} from './oci/index.js';
export {
  fetchArtifacts,
  parseUrlMirrors,
  chartPath,
  type ChartSpec,
  type FileSpec,
  type FetchArtifactsOptions,
  type FetchedArtifact,
} from './fetch/index.js';
export { requireVerifiedBundle } from './require.js';
export { machineArchitecture } from './apt-download.js';
export { RUNBOOK_PACKAGES, DEFAULT_RUNBOOK_VERSION } from './packages.js';
export {
  pushBundle,
  pushBundleToHosts,
  fetchBundleFrom,
  type FanOutOptions,
  configureHostApt,
  restoreHostApt,
  installFromBundle,
  importImages,
  REMOTE_BUNDLE_DIR,
  BUNDLE_SOURCE_FILE,
  DISABLED_SOURCES_DIR,
  type PushOptions,
  type PushedBundle,
} from './push.js';
