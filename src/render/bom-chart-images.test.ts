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
import { assetPath } from '../util/assets.js';
import { bomFetchSpecs } from './bom-artifacts.js';
import { bom, type Bom } from './bom.js';

/** Rows whose upstream source could not be reached, with why; each must list no image. */
const KNOWN_GAPS: Record<string, string> = {
  'chart-images.yaook':
    "Yaook's charts (crds and the operators) were not readable: gitlab.com/yaook and charts.yaook.cloud are unreachable from here and no mirror exists; their images must be read from the chart archives",
};

/** BOM files that are not manifests, so run no container image of their own. */
const NOT_MANIFESTS: Record<string, string> = {
  'node-image':
    "the workload VMs' disk image; what it pre-pulls is kubeadm's image set (imagebuilder.prepull, kubeadm.images)",
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

const scriptsDir = assetPath('runbook', 'scripts');

/** The values of a bash array `NAME=(a b c)` in a script or lib.sh. */
function bashArray(name: string, texts: string[]): string[] {
  for (const text of texts) {
    const m = new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(text);
    if (m) return m[1]!.trim().split(/\s+/);
  }
  throw new Error(`assets/runbook/scripts: array ${name} not found; the test cannot expand it`);
}

/**
 * The chart archives the scripts install: each `helm_release` call's glob under `charts/`,
 * with `$var` expanded over the array its `for var in "${ARRAY[@]}"` loop walks.
 */
function runbookChartGlobs(): Array<{ script: string; glob: string }> {
  const lib = readFileSync(join(scriptsDir, 'lib.sh'), 'utf8');
  const out: Array<{ script: string; glob: string }> = [];
  for (const folder of readdirSync(scriptsDir, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    for (const file of readdirSync(join(scriptsDir, folder.name))) {
      if (!file.endsWith('.sh')) continue;
      const script = `${folder.name}/${file}`;
      const text = readFileSync(join(scriptsDir, script), 'utf8');
      for (const m of text.matchAll(/^\s*helm_release\s+\S+\s+(["'])charts\/([^"']+)\1/gm)) {
        const glob = m[2]!;
        const variable = /\$\{?(\w+)\}?/.exec(glob);
        if (!variable) {
          out.push({ script, glob });
          continue;
        }
        const loop = new RegExp(`for ${variable[1]} in "\\$\\{(\\w+)\\[@\\]\\}"`).exec(text);
        if (!loop) throw new Error(`${script}: cannot expand $${variable[1]} in charts/${glob}`);
        for (const value of bashArray(loop[1]!, [text, lib]))
          out.push({ script, glob: glob.replace(variable[0], value) });
      }
    }
  }
  return out;
}

/** A shell glob (only `*`) as a whole-name pattern. */
const globPattern = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

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
    const charts = Object.entries(bom().charts);
    const problems: string[] = [];
    const globs = runbookChartGlobs();
    expect(globs.length).toBeGreaterThanOrEqual(10);
    for (const { script, glob } of globs) {
      // The bundle holds a BOM chart as charts/<name>-<version>.tgz (bom-artifacts.ts).
      const pinned = charts.filter(([name, c]) =>
        globPattern(glob).test(`${name}-${c.version}.tgz`),
      );
      if (pinned.length !== 1) {
        problems.push(`${script}: charts/${glob} matches ${pinned.length} charts of bom.yaml`);
        continue;
      }
      const [name, chart] = pinned[0]!;
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
      [
        'crds',
        ...[
          'infra',
          'keystone',
          'keystone-resources',
          'glance',
          'nova',
          'nova-compute',
          'neutron',
          'neutron-ovn',
          'cinder',
          'horizon',
        ].map((o) => `${o}-operator`),
      ].sort(),
    );
  });
});
