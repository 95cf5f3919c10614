/**
 * The DNS vocabulary the server speaks: the record types it writes, the codes it reads, and names
 * as label lists (a label may hold any byte, so names are never joined with dots inside).
 */

/** A domain name as labels, most specific first, without the root: `['orders', 'service', 'cairn']`. */
export type DnsName = readonly string[];

export const QTYPE = {
  A: 1,
  NS: 2,
  SOA: 6,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const QCLASS = { IN: 1, ANY: 255 } as const;

export const OPCODE_QUERY = 0;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended (EDNS): the upper 8 bits travel in the OPT record. */
  BADVERS: 16,
} as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];

const RCODE_NAMES = new Map<number, string>(Object.entries(RCODE).map(([name, code]) => [code, name]));
const QTYPE_NAMES = new Map<number, string>(Object.entries(QTYPE).map(([name, code]) => [code, name]));

export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}

/** Names for stats: the types the server answers by name, everything else as OTHER (a bounded key set). */
export function qtypeName(qtype: number): string {
  return QTYPE_NAMES.get(qtype) ?? 'OTHER';
}

export type ResourceRecord =
  | { readonly type: 'A'; readonly name: DnsName; readonly ttlS: number; readonly address: Uint8Array }
  | { readonly type: 'AAAA'; readonly name: DnsName; readonly ttlS: number; readonly address: Uint8Array }
  | {
      readonly type: 'SRV';
      readonly name: DnsName;
      readonly ttlS: number;
      readonly priority: number;
      readonly weight: number;
      readonly port: number;
      readonly target: DnsName;
    }
  | {
      readonly type: 'SOA';
      readonly name: DnsName;
      readonly ttlS: number;
      readonly mname: DnsName;
      readonly rname: DnsName;
      readonly serial: number;
      readonly refreshS: number;
      readonly retryS: number;
      readonly expireS: number;
      /** The negative-caching TTL (RFC 2308). */
      readonly minimumS: number;
    };

/** Lower-cases ASCII letters only, as DNS compares names (RFC 4343). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Case-insensitive comparison of two labels. */
export function sameLabel(a: string, b: string): boolean {
  return a.length === b.length && asciiLower(a) === asciiLower(b);
}

/** True when `name` ends with `suffix` (case-insensitively). */
export function endsWithName(name: DnsName, suffix: DnsName): boolean {
  if (suffix.length > name.length) return false;
  const offset = name.length - suffix.length;
  return suffix.every((label, i) => sameLabel(name[offset + i]!, label));
}

/** Splits a dotted name (no escapes: for names cairn builds itself) into labels. */
export function labelsOf(dotted: string): DnsName {
  const trimmed = dotted.replace(/^\.+|\.+$/g, '');
  return trimmed === '' ? [] : trimmed.split('.');
}

/** True for a host name cairn may put on the wire: labels of 1-63 bytes, 255 bytes in all. */
export function isWireName(name: DnsName): boolean {
  let bytes = 1;
  for (const label of name) {
    const len = Buffer.byteLength(label, 'latin1');
    if (len === 0 || len > 63) return false;
    bytes += len + 1;
  }
  return bytes <= 255;
}
