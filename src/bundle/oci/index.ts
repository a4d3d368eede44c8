/** Images from OCI registries into an OCI image layout (docs/bundle-format.md, "Images"). */
export {
  pullImages,
  defaultCacheDir,
  DEFAULT_PLATFORMS,
  UPSTREAM_DIGEST_ANNOTATION,
  type PullImagesOptions,
  type PulledImage,
  type PulledImages,
} from './pull.js';
export {
  parseMirrorOptions,
  loadMirrorFile,
  loadMirrorCredentials,
  type MirrorMap,
  type CredentialMap,
} from './mirrors.js';
export { resolveImageDigests, type ResolveDigestsOptions, type ResolvedDigest } from './resolve.js';
export { parseImageReference, formatImageReference, type ImageReference } from './reference.js';
export { MEDIA_TYPES, parsePlatform } from './manifest.js';
