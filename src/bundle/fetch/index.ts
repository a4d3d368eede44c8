/** Helm charts and release files into the download cache (docs/bundle-format.md, "Charts and files"). */
export {
  fetchArtifacts,
  chartPath,
  type ChartSpec,
  type FileSpec,
  type FetchArtifactsOptions,
  type FetchedArtifact,
  type Verification,
} from './fetch.js';
export { parseUrlMirrors, mirroredUrl, type UrlMirrorMap } from './url-mirrors.js';
export { resolveRepositoryUrl, findChartVersion, chartArchiveProblem } from './helm.js';
