import type { FederatedService, FederatedView } from '../federated-view.js';
import { type Address, addressName, parseAddress } from './address-label.js';
import { type NameQuery, parseQueryName } from './query-name.js';
import {
  type DnsName,
  isWireName,
  labelsOf,
  QCLASS,
  QTYPE,
  RCODE,
  type Rcode,
  type ResourceRecord,
} from './records.js';
import type { ServiceFinder } from './service-finder.js';
import { srvWeight } from './srv-weight.js';

/** One question, as the query asked it (labels keep the query's spelling). */
export interface Question {
  readonly name: DnsName;
  readonly qtype: number;
  readonly qclass: number;
}

/** What to say: the sections of a response before it is fitted into a size. */
export interface Answer {
  readonly rcode: Rcode;
  readonly authoritative: boolean;
  readonly answers: readonly ResourceRecord[];
  readonly authorities: readonly ResourceRecord[];
  readonly additionals: readonly ResourceRecord[];
}

export interface AnswerBuilderOptions {
  readonly view: FederatedView;
  readonly finder: ServiceFinder;
  readonly domain: DnsName;
  readonly ttlS: number;
}

/** An instance as DNS serves it: where to connect and how much to send there. */
interface Endpoint {
  readonly target: DnsName;
  readonly address: Address | null;
  readonly port: number;
  readonly effectiveWeight: number;
}

const SRV_PRIORITY = 1;

/**
 * Answers one question from the view as it is now (no caching: a registration shows up in the next
 * answer). Only instances with effectiveWeight > 0 (healthy, enabled, zone serving) are served.
 */
export class AnswerBuilder {
  private readonly soaOwner: DnsName;
  private readonly soaMname: DnsName;
  private readonly soaRname: DnsName;

  constructor(private readonly opts: AnswerBuilderOptions) {
    this.soaOwner = opts.domain;
    this.soaMname = ['ns', ...opts.domain];
    this.soaRname = ['hostmaster', ...opts.domain];
  }

  answer(q: Question): Answer {
    if (q.qclass !== QCLASS.IN && q.qclass !== QCLASS.ANY) return refused();
    const query = parseQueryName(q.name, this.opts.domain, (label) => this.opts.finder.zoneOf(label));
    if (query.kind === 'outside') return refused();
    if (q.qtype === QTYPE.AXFR || q.qtype === QTYPE.IXFR) return refused();
    return this.answerInDomain(q, query);
  }

  private answerInDomain(q: Question, query: Exclude<NameQuery, { kind: 'outside' }>): Answer {
    switch (query.kind) {
      case 'apex':
        return q.qtype === QTYPE.SOA || q.qtype === QTYPE.ANY ? this.ok([this.soa()], []) : this.noData();
      case 'empty':
        return this.noData();
      case 'unknown':
        return this.nxDomain();
      case 'address': {
        const record = addressRecord(q.name, query.address, this.opts.ttlS);
        const recordType = query.address.family === 4 ? QTYPE.A : QTYPE.AAAA;
        const wanted = q.qtype === recordType || q.qtype === QTYPE.ANY;
        return wanted ? this.ok([record], []) : this.noData();
      }
      case 'service': {
        const svc = this.opts.finder.find(query.candidates);
        if (svc === undefined) return this.nxDomain();
        return this.serviceAnswer(q, endpointsOf(svc, query.zone, this.opts.domain));
      }
    }
  }

  private serviceAnswer(q: Question, endpoints: readonly Endpoint[]): Answer {
    const ttlS = this.opts.ttlS;
    if (q.qtype === QTYPE.SRV || q.qtype === QTYPE.ANY) {
      if (endpoints.length === 0) return this.noData();
      const maxWeight = endpoints.reduce((m, e) => Math.max(m, e.effectiveWeight), 0);
      const answers: ResourceRecord[] = endpoints.map((e) => ({
        type: 'SRV',
        name: q.name,
        ttlS,
        priority: SRV_PRIORITY,
        weight: srvWeight(e.effectiveWeight, maxWeight),
        port: e.port,
        target: e.target,
      }));
      const additionals = new Map<string, ResourceRecord>();
      for (const e of endpoints) {
        const key = e.target.join('.');
        if (e.address !== null && !additionals.has(key)) additionals.set(key, addressRecord(e.target, e.address, ttlS));
      }
      return this.ok(answers, [...additionals.values()]);
    }
    if (q.qtype === QTYPE.A || q.qtype === QTYPE.AAAA) {
      const family = q.qtype === QTYPE.A ? 4 : 6;
      const seen = new Set<string>();
      const answers: ResourceRecord[] = [];
      for (const e of endpoints) {
        if (e.address === null || e.address.family !== family) continue;
        const key = e.target[0]!;
        if (seen.has(key)) continue;
        seen.add(key);
        answers.push(addressRecord(q.name, e.address, ttlS));
      }
      return answers.length === 0 ? this.noData() : this.ok(answers, []);
    }
    return this.noData();
  }

  private ok(answers: ResourceRecord[], additionals: ResourceRecord[]): Answer {
    return { rcode: RCODE.NOERROR, authoritative: true, answers, authorities: [], additionals };
  }

  /** The name exists but has no record of the asked type (RFC 2308 NODATA): SOA for negative caching. */
  private noData(): Answer {
    return { rcode: RCODE.NOERROR, authoritative: true, answers: [], authorities: [this.soa()], additionals: [] };
  }

  private nxDomain(): Answer {
    return { rcode: RCODE.NXDOMAIN, authoritative: true, answers: [], authorities: [this.soa()], additionals: [] };
  }

  private soa(): ResourceRecord {
    const ttlS = this.opts.ttlS;
    return {
      type: 'SOA',
      name: this.soaOwner,
      ttlS,
      mname: this.soaMname,
      rname: this.soaRname,
      serial: this.opts.view.revision >>> 0,
      refreshS: 60,
      retryS: 10,
      expireS: 3600,
      minimumS: ttlS,
    };
  }
}

function refused(): Answer {
  return { rcode: RCODE.REFUSED, authoritative: false, answers: [], authorities: [], additionals: [] };
}

function addressRecord(name: DnsName, address: Address, ttlS: number): ResourceRecord {
  return { type: address.family === 4 ? 'A' : 'AAAA', name, ttlS, address: address.bytes };
}

/**
 * The instances to serve, in view order (zone, then id). Two instances at the same address and port
 * are one endpoint (the larger weight counts). An instance registered by host name gets its host as
 * the SRV target and no address record (A/AAAA queries skip it).
 */
function endpointsOf(svc: FederatedService, zone: string | null, domain: DnsName): Endpoint[] {
  const byKey = new Map<string, Endpoint>();
  for (const inst of svc.instances) {
    if (!(inst.effectiveWeight > 0) || !inst.healthy || !inst.enabled) continue;
    if (zone !== null && inst.zone !== zone) continue;
    const address = parseAddress(inst.ip);
    const target = address !== null ? addressName(address, domain) : labelsOf(inst.ip);
    if (!isWireName(target) || inst.port < 1 || inst.port > 65_535) continue;
    const key = `${target.join('.').toLowerCase()}:${inst.port}`;
    const prior = byKey.get(key);
    if (prior === undefined || prior.effectiveWeight < inst.effectiveWeight) {
      byKey.set(key, { target, address, port: inst.port, effectiveWeight: inst.effectiveWeight });
    }
  }
  return [...byKey.values()];
}
