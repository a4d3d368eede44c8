/**
 * The images the runbook's charts and manifests run, against the bill of materials (issue 15,
 * item 1, second half). The rendered files name only the images uStart sets itself
 * (bom.test.ts); the rest come from the charts' and manifests' own defaults, read upstream at
 * the pinned tags and recorded as `chart-images.<name>` rows in docs/upstream-facts.md. This
 * test fails when a row's image is not in assets/runbook/bom.yaml, when a chart a script
 * installs or a manifest the bill of materials carries has no such row, and when a row lists
 * no image without being a named known gap.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bashArray, libShArray, RUNBOOK_SCRIPTS } from '../../test/support/runbook-scripts.js';
import { assetPath } from '../util/assets.js';
import { bomFetchSpecs } from '../bundle/bom-artifacts.js';
import { bom, type Bom } from './bom.js';
import { chartFileVars } from './host-env.js';

/** Rows whose upstream source could not be reached, with why; each must list no image. */
const KNOWN_GAPS: Record<string, string> = {
  'chart-images.yaook':
    "Yaook's charts (crds and the operators) were not readable: gitlab.com/yaook and charts.yaook.cloud are unreachable from here and no mirror exists; their images must be read from the chart archives",
};

/** BOM files that are not manifests, so run no container image of their own. */
const NOT_MANIFESTS: Record<string, string> = {
  'node-image':
    "the workload VMs' disk image; what it pre-pulls is kubeadm's image set (imagebuilder.prepull, kubeadm.images)",
  'kubelet-service': "the kubelet's systemd unit: it starts the kubelet binary, no container",
  'kubeadm-drop-in': "kubeadm's drop-in for that unit: flags, no container",
};

const ROW_PREFIX = 'chart-images.';
/** A backticked full image reference `host.tld/path:tag`, as bom.ts requires of `ref`. */
const IMAGE_IN_BACKTICKS =
  /`([a-z0-9.-]+\.[a-z]+(?::\d+)?\/[a-z0-9._/-]+:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})`/g;

interface ImageRow {
  id: string;
  fact: string;
  images: string[];
}

/** Every `chart-images.*` row of the ledger with the image references its fact names. */
function chartImageRows(ledger: string): ImageRow[] {
  return ledger
    .split('\n')
    .filter((line) => line.startsWith(`| ${ROW_PREFIX}`))
    .map((line) => {
      const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
      const [, id, fact] = cells as [string, string, string];
      return {
        id,
        fact,
        images: [...new Set([...fact.matchAll(IMAGE_IN_BACKTICKS)].map((m) => m[1]!))],
      };
    });
}

/** Each row's images that the bill of materials lacks, naming the row. */
function imagesMissingFromBom(rows: ImageRow[], b: Bom): Array<{ row: string; image: string }> {
  const refs = new Set(Object.values(b.images).map((i) => i.ref));
  return rows.flatMap((r) =>
    r.images.filter((i) => !refs.has(i)).map((image) => ({ row: r.id, image })),
  );
}

const scriptsDir = RUNBOOK_SCRIPTS;

/**
 * The charts the scripts install, as the env variable each `helm_release` call names
 * (`"$USTART_CHART_CILIUM"`, host-env.ts `chartFileVars`). A loop's `"${!chart}"` is expanded
 * over the array its `for var in "${ARRAY[@]}"` walks, with the `chart="USTART_CHART_${var^^}…"`
 * line before it (dashes to underscores, as the script does).
 */
function runbookChartVars(): Array<{ script: string; variable: string }> {
  const lib = readFileSync(join(scriptsDir, 'lib.sh'), 'utf8');
  const out: Array<{ script: string; variable: string }> = [];
  for (const folder of readdirSync(scriptsDir, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    for (const file of readdirSync(join(scriptsDir, folder.name))) {
      if (!file.endsWith('.sh')) continue;
      const script = `${folder.name}/${file}`;
      const text = readFileSync(join(scriptsDir, script), 'utf8');
      for (const m of text.matchAll(/^\s*helm_release\s+\S+\s+(\S+)/gm)) {
        const arg = m[1]!;
        const direct = /^"\$\{?(USTART_CHART_\w+)\}?"$/.exec(arg);
        if (direct) {
          out.push({ script, variable: direct[1]! });
          continue;
        }
        const indirect = /^"\$\{!(\w+)\}"$/.exec(arg);
        const template = indirect
          ? new RegExp(`${indirect[1]}="(USTART_CHART_[^"]+)"`).exec(text)
          : null;
        const loopVar = template ? /\$\{(\w+)\^\^\}/.exec(template[1]!) : null;
        const loop = loopVar
          ? new RegExp(`for ${loopVar[1]} in "\\$\\{(\\w+)\\[@\\]\\}"`).exec(text)
          : null;
        if (!template || !loopVar || !loop)
          throw new Error(
            `${script}: helm_release ${arg} names no USTART_CHART_* variable the test can read`,
          );
        for (const value of bashArray(loop[1]!, [text, lib]))
          out.push({
            script,
            variable: template[1]!.replace(loopVar[0], value.toUpperCase()).replaceAll('-', '_'),
          });
      }
    }
  }
  return out;
}

const ledger = readFileSync(join(assetPath('..'), 'docs', 'upstream-facts.md'), 'utf8');
const rows = chartImageRows(ledger);
const rowIds = new Set(rows.map((r) => r.id));
const citedRows = (facts: string[]) => facts.filter((f) => f.startsWith(ROW_PREFIX));

describe("the images of the runbook's charts and manifests", () => {
  it('are all in the bill of materials', () => {
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(imagesMissingFromBom(rows, bom())).toEqual([]);
  });

  it('names the row and the image a smaller bill of materials lacks', () => {
    const smaller: Bom = structuredClone(bom());
    delete smaller.images['loki-sidecar'];
    delete smaller.images['flux-helm-controller'];
    expect(imagesMissingFromBom(rows, smaller)).toEqual([
      { row: 'chart-images.loki', image: 'docker.io/kiwigrid/k8s-sidecar:1.28.0' },
      { row: 'chart-images.flux', image: 'ghcr.io/fluxcd/helm-controller:v1.1.0' },
    ]);
  });

  it('every chart a script installs is pinned in the bill of materials and cites a row', () => {
    const charts = bom().charts;
    const byVariable = new Map(
      Object.keys(charts).map((name) => [
        chartFileVars({ ...bom(), charts: { [name]: charts[name]! } })[0]![0],
        name,
      ]),
    );
    const problems: string[] = [];
    const calls = runbookChartVars();
    expect(calls.length).toBeGreaterThanOrEqual(10);
    for (const { script, variable } of calls) {
      const name = byVariable.get(variable);
      if (!name) {
        problems.push(`${script}: ${variable} names no chart of bom.yaml`);
        continue;
      }
      const chart = charts[name]!;
      const cited = citedRows(chart.facts);
      if (cited.length === 0) problems.push(`bom.yaml charts.${name}: cites no ${ROW_PREFIX}* row`);
      for (const id of cited.filter((c) => !rowIds.has(c)))
        problems.push(`bom.yaml charts.${name}: ${id} is not a row of docs/upstream-facts.md`);
    }
    expect(problems).toEqual([]);
  });

  it('every manifest a script applies from the bundle comes from the bill of materials', () => {
    const paths = new Set(bomFetchSpecs().files.map((f) => f.path));
    const applied: string[] = [];
    for (const folder of readdirSync(scriptsDir, { withFileTypes: true })) {
      if (!folder.isDirectory()) continue;
      for (const file of readdirSync(join(scriptsDir, folder.name))) {
        const text = readFileSync(join(scriptsDir, folder.name, file), 'utf8');
        for (const m of text.matchAll(/kubectl apply -f "\$\(bundle_file '([^']+)'\)"/g))
          applied.push(m[1]!);
      }
    }
    expect(applied).toContain('files/flux/install.yaml');
    expect(applied.filter((p) => !paths.has(p))).toEqual([]);
  });

  it('every manifest of the bill of materials cites a row', () => {
    const problems: string[] = [];
    for (const [name, file] of Object.entries(bom().files)) {
      if (name in NOT_MANIFESTS) continue;
      const cited = citedRows(file.facts);
      if (cited.length === 0) problems.push(`bom.yaml files.${name}: cites no ${ROW_PREFIX}* row`);
      for (const id of cited.filter((c) => !rowIds.has(c)))
        problems.push(`bom.yaml files.${name}: ${id} is not a row of docs/upstream-facts.md`);
    }
    expect(problems).toEqual([]);
    expect(Object.keys(NOT_MANIFESTS).filter((n) => !(n in bom().files))).toEqual([]);
  });

  it('every row is cited by the bill of materials and lists images, or is a known gap', () => {
    const b = bom();
    const cited = new Set(
      [...Object.values(b.charts), ...Object.values(b.files)].flatMap((e) => citedRows(e.facts)),
    );
    expect(rows.filter((r) => !cited.has(r.id)).map((r) => r.id)).toEqual([]);
    const empty = rows.filter((r) => r.images.length === 0).map((r) => r.id);
    expect(empty.sort()).toEqual(Object.keys(KNOWN_GAPS).sort());
    for (const id of Object.keys(KNOWN_GAPS))
      expect(rows.find((r) => r.id === id)?.fact, id).toContain('NOT VERIFIED');
  });

  it("lists the charts whose images are a known gap (Yaook's), so the gap stays visible", () => {
    const gapCharts = Object.entries(bom().charts)
      .filter(([, c]) => citedRows(c.facts).some((id) => id in KNOWN_GAPS))
      .map(([name]) => name)
      .sort();
    expect(gapCharts).toEqual(
      ['crds', ...libShArray('YAOOK_OPERATORS').map((o) => `${o}-operator`)].sort(),
    );
  });
});
