/**
 * Where in the wizard a finding's JSON pointer lives, so a finding can jump to its field. The
 * steps' own entries (steps/registry.ts) say which pointers and rule families are theirs.
 */
import type { RuleFamily } from '../../../src/api';
import { WIZARD_STEPS, type StepId } from '../steps/registry';

/** True when `step` lists the findings of `family` live (the Roles step: roles, storage). */
export function stepShowsFamily(step: StepId, family: RuleFamily | undefined): boolean {
  const entry = WIZARD_STEPS.find((s) => s.id === step);
  return family !== undefined && (entry?.families?.includes(family) ?? false);
}

/** How many segments of `path` the pointer prefix `prefix` covers, or -1 when it does not. */
function prefixLength(prefix: string, path: string): number {
  const want = prefix.split('/');
  const have = path.split('/');
  if (want.length > have.length) return -1;
  return want.every((w, i) => w === '*' || w === have[i]) ? want.length : -1;
}

/** The step showing the field at `path`; `family` places a finding about the whole plan. */
export function stepOf(path: string, family?: RuleFamily): StepId {
  let best: { id: StepId; length: number } | undefined;
  if (path !== '') {
    for (const step of WIZARD_STEPS) {
      for (const prefix of step.paths) {
        const length = prefixLength(prefix, path);
        if (length > (best?.length ?? 0)) best = { id: step.id, length };
      }
    }
  } else if (family !== undefined) {
    const owner = WIZARD_STEPS.find((s) => s.families?.includes(family));
    if (owner) return owner.id;
  }
  return best?.id ?? WIZARD_STEPS.find((s) => s.fallback)?.id ?? WIZARD_STEPS[0]!.id;
}

/** The server index a pointer is about, if any. */
export function serverIndexOf(path: string): number | undefined {
  const m = /^\/servers\/(\d+)/.exec(path);
  return m ? Number(m[1]) : undefined;
}

/**
 * The closest field element on screen for a pointer: the field itself, else its nearest
 * parent that is shown, else the first field inside that parent (a server's NICs have no
 * column of their own, so `/servers/7/nics/0` lands on server 7's first cell).
 */
export function findFieldElement(root: ParentNode, path: string): HTMLElement | undefined {
  let p = path;
  while (p) {
    const quoted = JSON.stringify(p);
    const el =
      root.querySelector<HTMLElement>(`[data-path=${quoted}]`) ??
      root.querySelector<HTMLElement>(`[data-path^=${JSON.stringify(`${p}/`)}]`);
    if (el) return el;
    p = p.slice(0, p.lastIndexOf('/'));
  }
  return undefined;
}
