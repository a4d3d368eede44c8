/**
 * Where a finding is, in the plan's own words: "sto-01 › NIC eno2 › network" for the JSON
 * pointer `/servers/7/nics/1/network`. Servers, networks, racks, NICs, disks and bonds are
 * named by their names; other fields keep their YAML key (the plan file's vocabulary).
 */
import type { Plan } from '../../../src/api';

/** The nouns of a place, in the UI's language. */
export interface PlaceWords {
  plan: string;
  site: string;
  servers: string;
  network: string;
  rack: string;
  nic: string;
  disk: string;
  bond: string;
  bmc: string;
  /** Followed by the network's name: "address on storage". */
  address: string;
  roles: string;
  acknowledgement: string;
}

export const PLACE_SEPARATOR = ' › ';

/** Path segments of a JSON pointer (RFC 6901). */
function segments(path: string): string[] {
  if (path === '') return [];
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const isIndex = (s: string | undefined) => s !== undefined && /^\d+$/.test(s);

/** "name" of the list item, else the item's number counted from 1. */
function itemName(list: unknown, index: string, key: string): string {
  const item = Array.isArray(list) ? (list[Number(index)] as unknown) : undefined;
  const name =
    item && typeof item === 'object' ? (item as Record<string, unknown>)[key] : undefined;
  return typeof name === 'string' && name !== '' ? name : `#${Number(index) + 1}`;
}

/** The rest of a pointer as YAML keys, list items counted from 1: "pool › start", "ntp #2". */
function fields(rest: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of rest) {
    if (isIndex(s) && out.length > 0) out[out.length - 1] += ` #${Number(s) + 1}`;
    else out.push(s);
  }
  return out;
}

export function placeOf(plan: Plan | undefined, path: string, w: PlaceWords): string {
  const [top, index, ...rest] = segments(path);
  const parts: string[] = [];
  switch (top) {
    case undefined:
      return w.plan;
    case 'servers': {
      if (!isIndex(index)) return w.servers;
      parts.push(itemName(plan?.servers, index!, 'hostname'));
      const server = plan?.servers[Number(index)];
      const [what, sub, ...more] = rest;
      if (what === 'nics' && isIndex(sub)) {
        parts.push(`${w.nic} ${itemName(server?.nics, sub!, 'name')}`, ...fields(more));
      } else if (what === 'disks' && isIndex(sub)) {
        parts.push(`${w.disk} ${itemName(server?.disks, sub!, 'device')}`, ...fields(more));
      } else if (what === 'bonds' && isIndex(sub)) {
        parts.push(`${w.bond} ${itemName(server?.bonds, sub!, 'name')}`, ...fields(more));
      } else if (what === 'addresses' && sub !== undefined) {
        parts.push(`${w.address} ${sub}`);
      } else if (what === 'bmc') {
        parts.push(w.bmc, ...fields(rest.slice(1)));
      } else if (what === 'roles') {
        parts.push(w.roles);
      } else {
        parts.push(...fields(rest));
      }
      break;
    }
    case 'networks':
      if (!isIndex(index)) return top;
      parts.push(`${w.network} ${itemName(plan?.networks, index!, 'name')}`, ...fields(rest));
      break;
    case 'racks':
      if (!isIndex(index)) return top;
      parts.push(`${w.rack} ${itemName(plan?.racks, index!, 'name')}`, ...fields(rest));
      break;
    case 'acknowledgements':
      if (!isIndex(index)) return top;
      parts.push(`${w.acknowledgement} #${Number(index) + 1}`, ...fields(rest));
      break;
    case 'site':
      parts.push(w.site, ...fields(index === undefined ? [] : [index, ...rest]));
      break;
    default:
      parts.push(...fields(index === undefined ? [top] : [top, index, ...rest]));
  }
  return parts.join(PLACE_SEPARATOR);
}
