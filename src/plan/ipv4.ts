/**
 * IPv4 arithmetic on 32-bit unsigned integers: what validation and IPAM need (containment,
 * overlap, network and broadcast addresses, ranges). Plans are IPv4-only today; the schema
 * rejects anything else before it gets here.
 */
export interface Cidr {
  /** Network address as an unsigned 32-bit integer (host bits cleared). */
  network: number;
  prefix: number;
  /** Last address (broadcast) as an unsigned 32-bit integer. */
  last: number;
  /** True when the written address had host bits set (10.0.0.5/24). */
  hostBitsSet: boolean;
}

/** Four dot-separated decimal octets of 1–3 digits each. A char-code scan: validation parses
 * every address of a 1,000-server plan, and split + regex per octet dominated its time. */
export function parseIpv4(text: string): number | undefined {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      octet = octet * 10 + (c - 48);
    } else if (c === 46 && digits > 0 && dots < 3) {
      if (octet > 255) return undefined;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0 || octet > 255) return undefined;
  return n * 256 + octet;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(text: string): Cidr | undefined {
  const [addr, len, extra] = text.split('/');
  if (addr === undefined || len === undefined || extra !== undefined || !/^\d{1,2}$/.test(len))
    return undefined;
  const ip = parseIpv4(addr);
  const prefix = Number(len);
  if (ip === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const network = ip - (ip % size);
  return { network, prefix, last: network + size - 1, hostBitsSet: network !== ip };
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.network && ip <= c.last;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.network <= b.last && b.network <= a.last;
}

/** Number of addresses a host can use (network and broadcast excluded below /31). */
export function usableCount(c: Cidr): number {
  const size = c.last - c.network + 1;
  return c.prefix >= 31 ? size : size - 2;
}

/** True for the network or broadcast address of a /30 or larger network. */
export function isNetworkOrBroadcast(c: Cidr, ip: number): boolean {
  return c.prefix < 31 && (ip === c.network || ip === c.last);
}

/** RFC 1918, loopback, link-local, CGNAT and documentation ranges: never routed on the internet. */
const NON_PUBLIC = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '100.64.0.0/10',
].map((c) => parseCidr(c)!);

export function isPrivate(ip: number): boolean {
  return NON_PUBLIC.some((c) => contains(c, ip));
}
