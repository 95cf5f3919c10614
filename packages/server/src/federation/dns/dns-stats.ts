import { qtypeName, rcodeName } from './records.js';

/** Counters a /metrics plugin can read (all since the server started). */
export interface DnsStatsSnapshot {
  readonly queries: { readonly udp: number; readonly tcp: number };
  /** Answered queries by question type (A, AAAA, SRV, ANY, SOA, ..., OTHER). */
  readonly byType: Readonly<Record<string, number>>;
  /** Responses by rcode (NOERROR, NXDOMAIN, REFUSED, FORMERR, NOTIMP, SERVFAIL, BADVERS). */
  readonly byRcode: Readonly<Record<string, number>>;
  /** UDP answers that did not fit and went out with TC set. */
  readonly truncated: number;
  /** Packets that did not parse (answered FORMERR when they had a header). */
  readonly malformed: number;
  /** Packets not answered: too short, responses, oversized. */
  readonly dropped: number;
  /** Answers that failed inside the server (answered SERVFAIL). */
  readonly errors: number;
  readonly tcp: {
    readonly open: number;
    readonly accepted: number;
    readonly rejected: number;
    readonly idleClosed: number;
  };
}

export class DnsStats {
  udp = 0;
  tcp = 0;
  truncated = 0;
  malformed = 0;
  dropped = 0;
  errors = 0;
  tcpOpen = 0;
  tcpAccepted = 0;
  tcpRejected = 0;
  tcpIdleClosed = 0;
  private readonly byType = new Map<string, number>();
  private readonly byRcode = new Map<string, number>();

  answered(qtype: number | null, rcode: number): void {
    if (qtype !== null) bump(this.byType, qtypeName(qtype));
    bump(this.byRcode, rcodeName(rcode));
  }

  snapshot(): DnsStatsSnapshot {
    return {
      queries: { udp: this.udp, tcp: this.tcp },
      byType: Object.fromEntries(this.byType),
      byRcode: Object.fromEntries(this.byRcode),
      truncated: this.truncated,
      malformed: this.malformed,
      dropped: this.dropped,
      errors: this.errors,
      tcp: {
        open: this.tcpOpen,
        accepted: this.tcpAccepted,
        rejected: this.tcpRejected,
        idleClosed: this.tcpIdleClosed,
      },
    };
  }
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}
