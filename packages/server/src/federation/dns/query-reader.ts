import dnsPacket from 'dns-packet';
import { OPCODE_QUERY } from './records.js';
import type { RawQuestion } from './wire-writer.js';

/**
 * Reads a query off the wire. Every packet is untrusted: anything that does not parse becomes a
 * `malformed` result (answered FORMERR) or a `drop` (no answer: too short to carry an id, or a
 * response, which must never be answered or two servers could bounce packets forever).
 */
export type ReadQuery =
  | { readonly kind: 'drop'; readonly reason: 'short' | 'response' }
  | { readonly kind: 'malformed'; readonly header: QueryHeader; readonly reason: string }
  /** A well-formed header with an opcode other than QUERY: NOTIMP. */
  | { readonly kind: 'unsupported'; readonly header: QueryHeader }
  | {
      readonly kind: 'query';
      readonly header: QueryHeader;
      readonly question: ParsedQuestion;
      readonly edns: Edns | null;
    };

export interface QueryHeader {
  readonly id: number;
  readonly opcode: number;
  readonly recursionDesired: boolean;
}

export interface ParsedQuestion {
  readonly raw: RawQuestion;
  readonly qtype: number;
  readonly qclass: number;
}

/** The client's EDNS (RFC 6891) settings. */
export interface Edns {
  readonly udpPayloadSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
}

const HEADER_BYTES = 12;
const NAME_BYTES_MAX = 255;

export function readQuery(packet: Buffer): ReadQuery {
  if (packet.length < HEADER_BYTES) return { kind: 'drop', reason: 'short' };
  const flags = packet.readUInt16BE(2);
  if ((flags & 0x8000) !== 0) return { kind: 'drop', reason: 'response' };
  const header: QueryHeader = {
    id: packet.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    recursionDesired: (flags & 0x0100) !== 0,
  };
  if (header.opcode !== OPCODE_QUERY) return { kind: 'unsupported', header };
  if (packet.readUInt16BE(4) !== 1) return { kind: 'malformed', header, reason: 'not exactly one question' };
  let decoded: dnsPacket.DecodedPacket;
  try {
    decoded = dnsPacket.decode(packet);
  } catch (err) {
    return { kind: 'malformed', header, reason: err instanceof Error ? err.message : 'undecodable' };
  }
  const question = readQuestion(packet);
  if (question === null) return { kind: 'malformed', header, reason: 'bad question name' };
  const opts = (decoded.additionals ?? []).filter((a) => a.type === 'OPT');
  if (opts.length > 1) return { kind: 'malformed', header, reason: 'more than one OPT record' };
  const opt = opts[0] as dnsPacket.OptAnswer | undefined;
  if (opt !== undefined && opt.name !== '.') return { kind: 'malformed', header, reason: 'OPT not at the root' };
  const edns: Edns | null =
    opt === undefined
      ? null
      : { udpPayloadSize: opt.udpPayloadSize, version: opt.ednsVersion, dnssecOk: opt.flag_do === true };
  return { kind: 'query', header, question, edns };
}

/** The first question's bytes and labels; null unless it is a plain, uncompressed, bounded name. */
function readQuestion(packet: Buffer): ParsedQuestion | null {
  const labels: string[] = [];
  let at = HEADER_BYTES;
  for (;;) {
    if (at >= packet.length) return null;
    const len = packet[at]!;
    if (len === 0) break;
    if (len > 63) return null; // a pointer (nothing precedes the question to point at) or a reserved type
    if (at + 1 + len > packet.length) return null;
    labels.push(packet.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
    if (at - HEADER_BYTES + 1 > NAME_BYTES_MAX) return null;
  }
  const end = at + 1 + 4;
  if (end > packet.length) return null;
  return {
    raw: { bytes: packet.subarray(HEADER_BYTES, end), labels },
    qtype: packet.readUInt16BE(at + 1),
    qclass: packet.readUInt16BE(at + 3),
  };
}
