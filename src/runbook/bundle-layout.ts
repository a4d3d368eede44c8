/**
 * Where the runbook's scripts look for things in an offline bundle (docs/bundle-format.md,
 * "Charts, files and binaries"). Node-free, below both sides: `src/bundle` puts a fetched
 * chart there, `src/render` names it in the rendered host environment (`USTART_CHART_*`).
 */

/** The bundle entry path of a chart archive, as the runbook's scripts look for it. */
export const chartPath = (name: string, version: string) => `charts/${name}-${version}.tgz`;
