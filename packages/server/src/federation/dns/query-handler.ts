import type { Logger } from 'pino';
import type { Answer, AnswerBuilder } from './answer-builder.js';
import { type DnsLimits, UDP_PLAIN_BYTES } from './dns-limits.js';
import type { DnsStats } from './dns-stats.js';
import { readQuery } from './query-reader.js';
import { RCODE, type Rcode } from './records.js';
import { encodeResponse, MESSAGE_BYTES_MAX } from './wire-writer.js';

export type Transport = 'udp' | 'tcp';

/**
 * One packet in, at most one packet out, the same for both transports except the size an answer
 * may take: 512 bytes over UDP, or the client's EDNS buffer size (capped by our limit), or 64 KiB
 * over TCP. Never throws: a failure while answering is counted and answered SERVFAIL; one anywhere
 * else is counted and the packet dropped.
 */
export class QueryHandler {
  private lastErrorLogMs = 0;

  constructor(
    private readonly builder: AnswerBuilder,
    private readonly stats: DnsStats,
    private readonly limits: DnsLimits,
    private readonly logger: Logger,
  ) {}

  handle(packet: Buffer, transport: Transport): Buffer | null {
    if (transport === 'udp') this.stats.udp++;
    else this.stats.tcp++;
    try {
      return this.respond(packet, transport);
    } catch (err) {
      this.stats.errors++;
      this.logError(err);
      return null;
    }
  }

  private respond(packet: Buffer, transport: Transport): Buffer | null {
    if (packet.length > this.limits.queryBytesMax) {
      this.stats.dropped++;
      return null;
    }
    const read = readQuery(packet);
    switch (read.kind) {
      case 'drop':
        this.stats.dropped++;
        return null;
      case 'malformed':
        this.stats.malformed++;
        return this.bare(read.header, RCODE.FORMERR);
      case 'unsupported':
        return this.bare(read.header, RCODE.NOTIMP);
      case 'query':
        break;
    }
    const { header, question, edns } = read;
    let answer: Answer;
    if (edns !== null && edns.version > 0) {
      answer = empty(RCODE.BADVERS); // RFC 6891 6.1.3: we speak EDNS version 0 only
    } else {
      try {
        answer = this.builder.answer({ name: question.raw.labels, qtype: question.qtype, qclass: question.qclass });
      } catch (err) {
        this.stats.errors++;
        this.logError(err);
        answer = empty(RCODE.SERVFAIL);
      }
    }
    const limitBytes = transport === 'tcp' ? MESSAGE_BYTES_MAX : this.udpLimit(edns?.udpPayloadSize ?? null);
    const out = encodeResponse(
      {
        id: header.id,
        opcode: header.opcode,
        recursionDesired: header.recursionDesired,
        question: question.raw,
        answer,
        edns: edns && { udpPayloadSize: this.limits.udpPayloadMaxBytes, dnssecOk: edns.dnssecOk },
      },
      limitBytes,
    );
    if (out.truncated) this.stats.truncated++;
    this.stats.answered(question.qtype, answer.rcode);
    return out.bytes;
  }

  private udpLimit(clientBytes: number | null): number {
    if (clientBytes === null) return UDP_PLAIN_BYTES;
    return Math.min(this.limits.udpPayloadMaxBytes, Math.max(UDP_PLAIN_BYTES, clientBytes));
  }

  /** A header-only answer (no question echoed): for packets we could not read or will not serve. */
  private bare(header: { id: number; opcode: number; recursionDesired: boolean }, rcode: Rcode): Buffer {
    this.stats.answered(null, rcode);
    return encodeResponse({ ...header, question: null, answer: empty(rcode), edns: null }, UDP_PLAIN_BYTES).bytes;
  }

  private logError(err: unknown): void {
    const nowMs = Date.now();
    if (nowMs - this.lastErrorLogMs < 1000) return; // one line a second at most, the count has the rest
    this.lastErrorLogMs = nowMs;
    this.logger.warn({ err, errors: this.stats.errors }, 'dns: answering a query failed');
  }
}

function empty(rcode: Rcode): Answer {
  return { rcode, authoritative: false, answers: [], authorities: [], additionals: [] };
}
