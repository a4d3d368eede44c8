/**
 * Where the Install page's step graph draws each step of one phase: a layered layout, left
 * to right. A step's column is the length of the longest chain of `after` steps before it
 * (so every arrow points right); within a column steps are ordered by the mean row of the
 * steps they wait for, which keeps arrows short and mostly uncrossed.
 *
 * A runbook phase has a few dozen steps at most, and this is all such a graph needs: a
 * general layout library (dagre, elkjs) would add its own size many times over to the page
 * for crossing reduction and edge routing that a graph this small has no use for.
 */

export interface GraphStep {
  id: string;
  /** Steps this one waits for; those not in the graph (another phase) are ignored. */
  after: readonly string[];
}

export interface PlacedStep {
  id: string;
  column: number;
  row: number;
  x: number;
  y: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** An SVG path from the right edge of `from` to the left edge of `to`. */
  path: string;
}

export interface GraphLayout {
  nodes: PlacedStep[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

export interface LayoutSize {
  nodeWidth: number;
  nodeHeight: number;
  columnGap: number;
  rowGap: number;
}

export const DEFAULT_SIZE: LayoutSize = {
  nodeWidth: 168,
  nodeHeight: 28,
  columnGap: 36,
  rowGap: 10,
};

/** Lays out `steps` (in runbook order); `after` cycles, which the engine refuses, are cut. */
export function layoutSteps(
  steps: readonly GraphStep[],
  size: LayoutSize = DEFAULT_SIZE,
): GraphLayout {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const parents = new Map(
    steps.map((s) => [s.id, [...new Set(s.after)].filter((p) => byId.has(p) && p !== s.id)]),
  );
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const columnOf = (id: string): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const c = Math.max(-1, ...parents.get(id)!.map(columnOf)) + 1;
    visiting.delete(id);
    column.set(id, c);
    return c;
  };
  for (const s of steps) columnOf(s.id);
  // A cut cycle can leave a column empty: close the gaps.
  const used = [...new Set(column.values())].sort((a, b) => a - b);
  for (const [id, c] of column) column.set(id, used.indexOf(c));
  const columns: string[][] = used.map(() => []);
  for (const s of steps) columns[column.get(s.id)!]!.push(s.id);

  // One sweep left to right: each column sorted by where its steps' parents sit.
  const row = new Map<string, number>();
  for (const ids of columns) {
    const keyed = ids.map((id, i) => {
      const rows = parents.get(id)!.map((p) => row.get(p) ?? 0);
      return { id, key: rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : i, i };
    });
    keyed.sort((a, b) => a.key - b.key || a.i - b.i);
    keyed.forEach((k, r) => row.set(k.id, r));
  }

  const { nodeWidth: w, nodeHeight: h, columnGap, rowGap } = size;
  const nodes: PlacedStep[] = steps.map((s) => {
    const c = column.get(s.id)!;
    const r = row.get(s.id)!;
    return { id: s.id, column: c, row: r, x: c * (w + columnGap), y: r * (h + rowGap) };
  });
  const at = new Map(nodes.map((n) => [n.id, n]));
  const edges: GraphEdge[] = [];
  for (const s of steps) {
    const to = at.get(s.id)!;
    for (const p of parents.get(s.id)!) {
      const from = at.get(p)!;
      if (from.column >= to.column) continue; // a cut cycle
      const x1 = from.x + w;
      const y1 = from.y + h / 2;
      const x2 = to.x;
      const y2 = to.y + h / 2;
      const bend = Math.min(columnGap, (x2 - x1) / 2);
      edges.push({
        from: p,
        to: s.id,
        path: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
      });
    }
  }
  const longest = Math.max(0, ...columns.map((c) => c.length));
  return {
    nodes,
    edges,
    width: columns.length ? columns.length * (w + columnGap) - columnGap : 0,
    height: longest ? longest * (h + rowGap) - rowGap : 0,
  };
}
