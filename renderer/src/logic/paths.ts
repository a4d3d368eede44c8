/** Where in the wizard a finding's JSON pointer lives, so a finding can jump to its field. */
import type { StepId } from '../state/ui-store';

const ROLE_RULE =
  /^(server-no-roles|role-|controller-|compute-|rack-loss-quorum|storage-(count|rack|osd|capacity)|osd-on)/;

/** True for the rules the Roles step shows live. */
export function isRoleRule(rule: string): boolean {
  return ROLE_RULE.test(rule);
}

export function stepOf(path: string, rule = ''): StepId {
  if (/^\/servers\/\d+\/roles/.test(path) || (path === '' && isRoleRule(rule))) return 'roles';
  if (path.startsWith('/servers') || path.startsWith('/racks')) return 'hardware';
  if (path.startsWith('/networks')) return 'networks';
  return 'site';
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
