import type { Answer } from './answer-builder.js';
import { asciiLower, type DnsName, QCLASS, QTYPE, type ResourceRecord } from './records.js';

/**
 * Encodes a response into at most `limitBytes`, with name compression (RFC 1035 4.1.4): an SRV
 * answer of N instances costs about 55 bytes per instance instead of about 100, so twice as many
 * fit in one UDP answer. SRV targets are written whole (RFC 2782 forbids compressing them) but
 * later names may point at them, so the A record of a target costs 16 bytes.
 *
 * Fitting (RFC 2181 9): answers and authorities are written while they fit; the first that does
 * not sets TC and ends the message (the client retries over TCP). Additional records are extra:
 * those that do not fit are left out without TC. The OPT record always fits (its room is kept).
 */

/** The question as received: its wire bytes (name, type, class) are echoed as they came. */
export interface RawQuestion {
  readonly bytes: Uint8Array;
  /** The labels of its name (latin1, so a label's length is its byte count). */
  readonly labels: DnsName;
}

export interface ResponseMessage {
  readonly id: number;
  readonly opcode: number;
  readonly recursionDesired: boolean;
  readonly question: RawQuestion | null;
  readonly answer: Answer;
  /** Present when the query had an OPT record: then the response carries one too. */
  readonly edns: { readonly udpPayloadSize: number; readonly dnssecOk: boolean } | null;
}

export interface EncodedResponse {
  readonly bytes: Buffer;
  readonly truncated: boolean;
}

/** The largest DNS message (TCP frames carry a 16-bit length). */
export const MESSAGE_BYTES_MAX = 65_535;
const OPT_BYTES = 11;
const HEADER_BYTES = 12;
/** Pointers are 14-bit offsets. */
const POINTER_OFFSET_MAX = 0x3fff;
/** Room past the limit for the one record that overflows it before it is rolled back. */
const SCRATCH_SLACK_BYTES = 2048;

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const DO_BIT = 0x8000;

const TYPE_CODE: Record<ResourceRecord['type'], number> = {
  A: QTYPE.A,
  AAAA: QTYPE.AAAA,
  SRV: QTYPE.SRV,
  SOA: QTYPE.SOA,
};

// Encoding is synchronous, so one scratch buffer serves every response; the result is copied out.
const scratch = Buffer.alloc(MESSAGE_BYTES_MAX + SCRATCH_SLACK_BYTES);

export function encodeResponse(msg: ResponseMessage, limitBytes: number): EncodedResponse {
  const limit = Math.min(limitBytes, MESSAGE_BYTES_MAX);
  const w = new Writer(scratch, limit - (msg.edns ? OPT_BYTES : 0));
  w.offset = HEADER_BYTES;
  if (msg.question) w.question(msg.question);
  const counts = { an: 0, ns: 0, ar: 0 };
  let truncated = false;
  for (const rr of msg.answer.answers) {
    if (!w.tryRecord(rr)) {
      truncated = true;
      break;
    }
    counts.an++;
  }
  if (!truncated) {
    for (const rr of msg.answer.authorities) {
      if (!w.tryRecord(rr)) {
        truncated = true;
        break;
      }
      counts.ns++;
    }
  }
  if (!truncated) {
    for (const rr of msg.answer.additionals) {
      if (!w.tryRecord(rr)) break;
      counts.ar++;
    }
  }
  const rcode = msg.answer.rcode;
  if (msg.edns) {
    w.opt(msg.edns.udpPayloadSize, rcode >> 4, msg.edns.dnssecOk);
    counts.ar++;
  }
  let flags = FLAG_QR | ((msg.opcode & 0xf) << 11) | (rcode & 0xf);
  if (msg.answer.authoritative) flags |= FLAG_AA;
  if (truncated) flags |= FLAG_TC;
  if (msg.recursionDesired) flags |= FLAG_RD;
  scratch.writeUInt16BE(msg.id, 0);
  scratch.writeUInt16BE(flags, 2);
  scratch.writeUInt16BE(msg.question ? 1 : 0, 4);
  scratch.writeUInt16BE(counts.an, 6);
  scratch.writeUInt16BE(counts.ns, 8);
  scratch.writeUInt16BE(counts.ar, 10);
  if (w.offset > limit) throw new Error(`dns: response of ${w.offset} bytes exceeds its limit ${limit}`);
  return { bytes: Buffer.from(scratch.subarray(0, w.offset)), truncated };
}

class Writer {
  offset = 0;
  /** Lower-cased name suffix -> offset of its first occurrence. */
  private readonly names = new Map<string, number>();
  private readonly added: string[] = [];

  constructor(
    private readonly buf: Buffer,
    private readonly limit: number,
  ) {}

  question(q: RawQuestion): void {
    const start = this.offset;
    this.buf.set(q.bytes, start);
    let at = start;
    for (let i = 0; i < q.labels.length; i++) {
      this.register(q.labels.slice(i), at);
      at += 1 + q.labels[i]!.length;
    }
    this.offset += q.bytes.length;
  }

  /** Writes one record if it fits within the limit; otherwise leaves no trace and returns false. */
  tryRecord(rr: ResourceRecord): boolean {
    const offset = this.offset;
    const added = this.added.length;
    this.record(rr);
    if (this.offset <= this.limit) return true;
    this.offset = offset;
    for (const key of this.added.splice(added)) this.names.delete(key);
    return false;
  }

  /** The OPT pseudo-record (RFC 6891): root name, our payload size, extended rcode, version 0. */
  opt(udpPayloadSize: number, extendedRcode: number, dnssecOk: boolean): void {
    this.u8(0);
    this.u16(QTYPE.OPT);
    this.u16(udpPayloadSize);
    this.u8(extendedRcode);
    this.u8(0);
    this.u16(dnssecOk ? DO_BIT : 0);
    this.u16(0);
  }

  private record(rr: ResourceRecord): void {
    this.name(rr.name, true);
    this.u16(TYPE_CODE[rr.type]);
    this.u16(QCLASS.IN);
    this.u32(rr.ttlS);
    const lengthAt = this.offset;
    this.u16(0);
    switch (rr.type) {
      case 'A':
      case 'AAAA':
        this.buf.set(rr.address, this.offset);
        this.offset += rr.address.length;
        break;
      case 'SRV':
        this.u16(rr.priority);
        this.u16(rr.weight);
        this.u16(rr.port);
        this.name(rr.target, false);
        break;
      case 'SOA':
        this.name(rr.mname, true);
        this.name(rr.rname, true);
        this.u32(rr.serial);
        this.u32(rr.refreshS);
        this.u32(rr.retryS);
        this.u32(rr.expireS);
        this.u32(rr.minimumS);
        break;
    }
    this.buf.writeUInt16BE(this.offset - lengthAt - 2, lengthAt);
  }

  /** Writes a name, pointing at an earlier copy of its longest known suffix when `compress`. */
  private name(labels: DnsName, compress: boolean): void {
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i);
      const known = compress ? this.names.get(suffixKey(suffix)) : undefined;
      if (known !== undefined) {
        this.u16(0xc000 | known);
        return;
      }
      this.register(suffix, this.offset);
      const label = labels[i]!;
      this.u8(label.length);
      this.offset += this.buf.write(label, this.offset, 'latin1');
    }
    this.u8(0);
  }

  private register(suffix: DnsName, at: number): void {
    if (at > POINTER_OFFSET_MAX) return;
    const key = suffixKey(suffix);
    if (this.names.has(key)) return;
    this.names.set(key, at);
    this.added.push(key);
  }

  private u8(v: number): void {
    this.buf.writeUInt8(v, this.offset);
    this.offset += 1;
  }

  private u16(v: number): void {
    this.buf.writeUInt16BE(v, this.offset);
    this.offset += 2;
  }

  private u32(v: number): void {
    this.buf.writeUInt32BE(v >>> 0, this.offset);
    this.offset += 4;
  }
}

/** Labels may hold dots and backslashes: escape them so different names never share a key. */
function suffixKey(labels: DnsName): string {
  return labels.map((l) => asciiLower(l).replace(/[\\.]/g, '\\$&')).join('.');
}
