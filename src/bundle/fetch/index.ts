/** Helm charts, release files and binaries into the download cache (docs/bundle-format.md, "Charts, files and binaries"). */
export {
  fetchArtifacts,
  type ChartSpec,
  type FileSpec,
  type FetchArtifactsOptions,
  type FetchedArtifact,
  type Verification,
} from './fetch.js';
/** Re-exported for the bundle's users; the layout lives below render and bundle both. */
export { chartPath } from '../../runbook/bundle-layout.js';
export { parseUrlMirrors, mirroredUrl, type UrlMirrorMap } from './url-mirrors.js';
export { resolveRepositoryUrl, findChartVersion, chartArchiveProblem } from './helm.js';
