import { describe, expect, it } from 'vitest';
import { findFieldElement, serverIndexOf, stepOf, stepShowsFamily } from './finding-steps';

/** A stand-in for the document: answers the two selector forms findFieldElement uses. */
function fakeRoot(paths: string[]) {
  return {
    querySelector(selector: string) {
      const exact = /^\[data-path=(".*")\]$/.exec(selector);
      const prefix = /^\[data-path\^=(".*")\]$/.exec(selector);
      const want = JSON.parse((exact ?? prefix)![1]!) as string;
      const hit = paths.find((p) => (exact ? p === want : p.startsWith(want)));
      return hit === undefined ? null : { path: hit };
    },
  } as unknown as ParentNode;
}

describe('jumping from a finding to its field', () => {
  it('sends a finding to the step that shows its field', () => {
    expect(stepOf('/servers/3/roles')).toBe('roles');
    expect(stepOf('/servers/3/hostname')).toBe('hardware');
    expect(stepOf('/racks/0/powerKw')).toBe('hardware');
    expect(stepOf('/networks/1/cidr')).toBe('networks');
    expect(stepOf('/kubernetes/podCidr')).toBe('site');
    // controller-count-min (family roles) is about the whole plan: it goes to the Roles step.
    expect(stepOf('', 'roles')).toBe('roles');
    expect(serverIndexOf('/servers/12/nics/0')).toBe(12);
    // storage-rack-spread (family storage) is listed live on the Roles step.
    expect(stepShowsFamily('roles', 'storage')).toBe(true);
    // Giving a server the controller role can break a rack's quorum: rack-loss-quorum is of
    // family roles, shown while assigning, and its field is on the Hardware step.
    expect(stepShowsFamily('roles', 'roles')).toBe(true);
    expect(stepOf('/servers/0/rack', 'roles')).toBe('hardware');
    // network-overlap (family networks) is not.
    expect(stepShowsFamily('roles', 'networks')).toBe(false);
  });

  it('lands on the field, else on its nearest shown parent, else on the first field inside it', () => {
    const root = fakeRoot(['/servers/7/hostname', '/servers/7/rack', '/site/name']);
    const at = (p: string) =>
      (findFieldElement(root, p) as unknown as { path: string } | undefined)?.path;
    expect(at('/servers/7/rack')).toBe('/servers/7/rack');
    expect(at('/servers/7/nics/0/mac')).toBe('/servers/7/hostname');
    expect(at('/site/name/x')).toBe('/site/name');
    expect(at('/openstack/region')).toBeUndefined();
  });
});
