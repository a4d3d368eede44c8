/**
 * A small reader of pcap files (the classic format tcpdump and QEMU's filter-dump write;
 * docs/upstream-facts.md#pcap-savefile) and of the Ethernet frames in them, with 802.1Q tags
 * (docs/upstream-facts.md#linux-8021q-frame).
 *
 * A file is a 24-byte global header (magic 0xa1b2c3d4 in the writer's byte order, or
 * 0xa1b23c4d for nanosecond timestamps; version; snaplen; link type at offset 20) and
 * records, each a 16-byte header (seconds, sub-seconds, captured length, original length)
 * followed by the captured bytes.
 */

export interface PcapRecord {
  /** Bytes captured, which is the whole frame when `length` equals `data.length`. */
  data: Buffer;
  /** The frame's length on the wire. */
  length: number;
}

/** LINKTYPE_ETHERNET. */
export const LINKTYPE_ETHERNET = 1;

/** The records of a pcap file; a record cut short at the end (still being written) is left out. */
export function readPcap(file: Buffer): { linkType: number; records: PcapRecord[] } {
  if (file.length < 24) throw new Error(`not a pcap file: ${file.length} bytes, no global header`);
  const magic = file.readUInt32LE(0);
  let u32: (offset: number) => number;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) u32 = (o) => file.readUInt32LE(o);
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) u32 = (o) => file.readUInt32BE(o);
  else throw new Error(`not a pcap file: magic 0x${magic.toString(16)}`);
  const linkType = u32(20) & 0xffff;
  const records: PcapRecord[] = [];
  let at = 24;
  while (at + 16 <= file.length) {
    const captured = u32(at + 8);
    const length = u32(at + 12);
    if (at + 16 + captured > file.length) break;
    records.push({ data: file.subarray(at + 16, at + 16 + captured), length });
    at += 16 + captured;
  }
  return { linkType, records };
}

/** The 802.1Q tag protocol identifier (ETH_P_8021Q). */
export const TPID_8021Q = 0x8100;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;

export interface EthernetFrame {
  dst: string;
  src: string;
  /** The 802.1Q tag, when the frame has one. */
  vlan?: { id: number; priority: number };
  /** The EtherType after the tag (if any). */
  etherType: number;
  payload: Buffer;
  /** The whole frame's length in bytes, tag included (no FCS: captures have none). */
  length: number;
}

const mac = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

/** An Ethernet II frame: destination, source, then an optional 802.1Q tag, then the EtherType. */
export function parseEthernet(data: Buffer): EthernetFrame {
  if (data.length < 14) throw new Error(`an Ethernet frame of ${data.length} bytes is too short`);
  let type = data.readUInt16BE(12);
  let at = 14;
  let vlan: EthernetFrame['vlan'];
  if (type === TPID_8021Q) {
    // Tag control information: 3 bits priority, 1 bit drop eligible, 12 bits VLAN id.
    const tci = data.readUInt16BE(14);
    vlan = { id: tci & 0x0fff, priority: tci >> 13 };
    type = data.readUInt16BE(16);
    at = 18;
  }
  return {
    dst: mac(data.subarray(0, 6)),
    src: mac(data.subarray(6, 12)),
    ...(vlan ? { vlan } : {}),
    etherType: type,
    payload: data.subarray(at),
    length: data.length,
  };
}

export interface Icmp4 {
  src: string;
  dst: string;
  /** IPv4's don't-fragment flag. */
  dontFragment: boolean;
  /** Whether the packet is a fragment (more-fragments flag, or an offset). */
  fragment: boolean;
  /** The IPv4 total length (header and ICMP message). */
  totalLength: number;
  /** 8: echo request, 0: echo reply. */
  type: number;
}

/** The ICMP message in an IPv4 payload, or undefined when it is another protocol. */
export function parseIcmp4(payload: Buffer): Icmp4 | undefined {
  if (payload.length < 20 || payload[0]! >> 4 !== 4) return undefined;
  const headerLength = (payload[0]! & 0x0f) * 4;
  if (payload[9] !== 1 || payload.length < headerLength + 8) return undefined;
  const ip = (o: number) => [...payload.subarray(o, o + 4)].join('.');
  return {
    src: ip(12),
    dst: ip(16),
    dontFragment: (payload.readUInt16BE(6) & 0x4000) !== 0,
    fragment: (payload.readUInt16BE(6) & 0x3fff) !== 0,
    totalLength: payload.readUInt16BE(2),
    type: payload[headerLength]!,
  };
}
