/** Checks on names and addresses that several rule families share. */
import { isPrivate, parseIpv4 } from '../ipv4.js';

/** One RFC 1123 label: 1–63 lower-case letters, digits and inner hyphens. */
export const RFC1123_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS name of RFC 1123 labels (case-insensitive), at most 253 characters. */
export function isDnsName(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const labels = text.toLowerCase().replace(/\.$/, '').split('.');
  // An all-numeric last label would make "10.0.0.300" a "name"; RFC 3696 forbids it.
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return false;
  return labels.every((l) => RFC1123_LABEL.test(l));
}

/** An IPv4 address or a DNS name: what NTP servers, jump hosts and SSH addresses may be. */
export function isHostOrAddress(text: string): boolean {
  return parseIpv4(text) !== undefined || isDnsName(text);
}

/** True when `name` is `domain` or below it (case-insensitive, trailing dot ignored). */
export function isUnderDomain(name: string, domain: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const d = domain.toLowerCase().replace(/\.$/, '');
  return n === d || n.endsWith('.' + d);
}

/**
 * Whether a host name or address stays inside the site: a private address, or a name
 * under the site's domain (a bare name without dots is resolved with the search domain).
 */
export function isInternal(text: string, domain: string): boolean {
  const ip = parseIpv4(text);
  if (ip !== undefined) return isPrivate(ip);
  return !text.includes('.') || isUnderDomain(text, domain);
}

/** A POSIX login name as useradd accepts it by default. */
export const LOGIN_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** "ctl-01, ctl-02 and ctl-03" — lists a few names and counts the rest. */
export function listNames(names: readonly string[], max = 5): string {
  if (names.length <= 1) return names.join('');
  if (names.length > max) return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export function plural(n: number, word: string, many = word + 's'): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Items whose key appeared earlier in the list, each with the index of its first appearance. */
export function repeats<T, K>(
  items: readonly T[],
  key: (item: T) => K | undefined,
): Array<{ item: T; index: number; first: number }> {
  const seen = new Map<K, number>();
  const out: Array<{ item: T; index: number; first: number }> = [];
  items.forEach((item, index) => {
    const k = key(item);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, index);
    else out.push({ item, index, first });
  });
  return out;
}
