import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SIZE, layoutSteps, type GraphStep } from './step-graph-layout';

const column = (layout: ReturnType<typeof layoutSteps>, id: string) =>
  layout.nodes.find((n) => n.id === id)!.column;

/** Random DAGs: each step may wait for any earlier one (and for steps of another phase). */
const dags = fc.integer({ min: 0, max: 30 }).chain((n) =>
  fc.tuple(
    ...Array.from({ length: n }, (_, i) =>
      fc
        .subarray([...Array.from({ length: i }, (_, j) => `s${j}`), 'other.phase'], {
          maxLength: Math.min(4, i + 1),
        })
        .map((after): GraphStep => ({ id: `s${i}`, after })),
    ),
  ),
);

describe('the step graph layout', () => {
  it('puts a step one column past the longest chain before it', () => {
    const layout = layoutSteps([
      { id: 'source', after: [] },
      { id: 'kernel', after: [] },
      { id: 'containerd', after: ['source', 'kernel'] },
      { id: 'kubelet', after: ['containerd'] },
      { id: 'chrony', after: ['source', 'ustack.x'] },
      { id: 'join', after: ['kubelet', 'chrony'] },
    ]);
    expect(
      ['source', 'kernel', 'containerd', 'kubelet', 'chrony', 'join'].map((id) =>
        column(layout, id),
      ),
    ).toEqual([0, 0, 1, 2, 1, 3]);
    expect(layout.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual([
      'chrony>join',
      'containerd>kubelet',
      'kernel>containerd',
      'kubelet>join',
      'source>chrony',
      'source>containerd',
    ]);
    expect(layout.width).toBe(4 * DEFAULT_SIZE.nodeWidth + 3 * DEFAULT_SIZE.columnGap);
  });

  it('lays out any DAG with arrows pointing right and no two steps on one spot', () => {
    fc.assert(
      fc.property(dags, (steps) => {
        const layout = layoutSteps(steps);
        expect(layout.nodes.map((n) => n.id)).toEqual(steps.map((s) => s.id));
        const spots = new Set(layout.nodes.map((n) => `${n.x},${n.y}`));
        expect(spots.size).toBe(steps.length);
        for (const s of steps) {
          const own = s.after.filter((a) => a !== 'other.phase');
          for (const a of own) expect(column(layout, a)).toBeLessThan(column(layout, s.id));
          expect(layout.edges.filter((e) => e.to === s.id)).toHaveLength(new Set(own).size);
        }
        for (const n of layout.nodes) {
          expect(n.x + DEFAULT_SIZE.nodeWidth).toBeLessThanOrEqual(layout.width);
          expect(n.y + DEFAULT_SIZE.nodeHeight).toBeLessThanOrEqual(layout.height);
        }
      }),
    );
  });

  it('ends on a cycle (which the engine refuses) instead of looping', () => {
    const layout = layoutSteps([
      { id: 'a', after: ['b'] },
      { id: 'b', after: ['a'] },
      { id: 'c', after: ['c', 'a'] },
    ]);
    expect(layout.nodes).toHaveLength(3);
    for (const e of layout.edges) expect(column(layout, e.from)).toBeLessThan(column(layout, e.to));
  });
});
