// From a registration's acknowledgement in a zone to its appearance in the federation's REST view and
// in its DNS answers. One registration at a time, each in a service of its own, zones taken in turn
// and a random replica of the zone asked; once the zone answers POST /v1/instances, two tight pollers
// start together: GET /v1/services/public/DEFAULT_GROUP/<service> until 200, and the SRV question
// `_<service>._tcp.service.cairn` until it has a record. Each poll starts when the previous answered
// (~0.2-1 ms apart on loopback), so a time is at most one poll late; an instance that showed before
// the acknowledgement counts as the first poll's time (reported as `seenAtFirstPoll`).
import { Pool } from 'undici';
import { sleep } from '../raft/wait.js';
import { expectOk, type ReplicaPools, sendJson } from '../registry/http.js';
import type { BenchZone } from './bench-zones.js';
import { DnsProber } from './dns-prober.js';
import type { FederationNode } from './federation-node.js';
import { emit, loadAverage, progress, round, summarize } from './report.js';

const POLL_TIMEOUT_MS = 10_000;
const TARGET_P99_MS = 100;

interface Appearance {
  readonly ms: number;
  readonly polls: number;
}

export interface PropagationResult {
  /** The line emitted. */
  readonly line: Record<string, unknown>;
  /** Instances registered, per zone. */
  readonly registeredByZone: ReadonlyMap<string, number>;
}

/** Registers `samples` instances (persistent, so no heartbeats) and times their appearance. */
export async function measurePropagation(
  phase: string,
  zones: readonly BenchZone[],
  pools: ReplicaPools,
  federation: FederationNode,
  samples: number,
  instancesHeld: number,
): Promise<PropagationResult> {
  const fed = new Pool(federation.origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  const dns = new DnsProber('127.0.0.1', federation.dnsPort);
  const rest: number[] = [];
  const dnsMs: number[] = [];
  let restPolls = 0;
  let dnsPolls = 0;
  let restFirst = 0;
  let dnsFirst = 0;
  let missing = 0;
  const registeredByZone = new Map(zones.map((z) => [z.name, 0]));
  const started = performance.now();
  try {
    for (let i = 0; i < samples; i++) {
      const zone = zones[i % zones.length]!;
      const origin = zone.origins[Math.floor(Math.random() * zone.origins.length)]!;
      const service = `bench-prop-${phase}-${i}`;
      await expectOk(
        sendJson(pools.pool(origin), 'POST', '/v1/instances', {
          service,
          ip: `10.255.${Math.floor(i / 250)}.${(i % 250) + 1}`,
          port: 8080,
          ephemeral: false,
        }),
        `register ${service} in ${zone.name}`,
      );
      registeredByZone.set(zone.name, (registeredByZone.get(zone.name) ?? 0) + 1);
      const ackAt = performance.now();
      const [r, d] = await Promise.all([
        pollRest(fed, `/v1/services/public/DEFAULT_GROUP/${service}`, ackAt),
        pollDns(dns, `_${service}._tcp.service.cairn`, ackAt),
      ]);
      for (const [a, out] of [
        [r, rest],
        [d, dnsMs],
      ] as const) {
        if (a === null) missing++;
        else out.push(a.ms);
      }
      if (r) {
        restPolls += r.polls;
        if (r.polls === 1) restFirst++;
      }
      if (d) {
        dnsPolls += d.polls;
        if (d.polls === 1) dnsFirst++;
      }
      if ((i + 1) % 50 === 0) progress(`propagation (${phase}): ${i + 1}/${samples}`);
      await sleep(5);
    }
  } finally {
    dns.close();
    await fed.close();
  }
  const restSummary = summarize(rest);
  const dnsSummary = summarize(dnsMs);
  const line = {
    measurement: 'propagation',
    phase,
    zones: zones.length,
    replicasPerZone: zones[0]?.replicas.length,
    instancesHeldByTheFederation: instancesHeld,
    samples,
    notSeenWithin10s: missing,
    targetP99Ms: TARGET_P99_MS,
    rest: {
      ...restSummary,
      seenAtFirstPoll: restFirst,
      pollsPerSample: round(restPolls / Math.max(1, rest.length), 1),
      method: 'tight poll of GET /v1/services/public/DEFAULT_GROUP/<service> over one keep-alive connection',
    },
    dns: {
      ...dnsSummary,
      seenAtFirstPoll: dnsFirst,
      pollsPerSample: round(dnsPolls / Math.max(1, dnsMs.length), 1),
      method: 'tight SRV queries over UDP (dns-packet, EDNS 8192)',
    },
    metTarget: missing === 0 && restSummary.p99Ms <= TARGET_P99_MS && dnsSummary.p99Ms <= TARGET_P99_MS,
    seconds: round((performance.now() - started) / 1000, 1),
    loadAverage: loadAverage(),
  };
  emit(line);
  return { line, registeredByZone };
}

async function pollRest(fed: Pool, path: string, sinceMs: number): Promise<Appearance | null> {
  let polls = 0;
  while (performance.now() - sinceMs < POLL_TIMEOUT_MS) {
    polls++;
    const res = await fed.request({ method: 'GET', path, headersTimeout: 5000, bodyTimeout: 5000 });
    await res.body.dump();
    if (res.statusCode === 200) return { ms: performance.now() - sinceMs, polls };
    if (res.statusCode !== 404) throw new Error(`GET ${path}: HTTP ${res.statusCode}`);
  }
  return null;
}

async function pollDns(dns: DnsProber, name: string, sinceMs: number): Promise<Appearance | null> {
  let polls = 0;
  while (performance.now() - sinceMs < POLL_TIMEOUT_MS) {
    polls++;
    const records = await dns.srvCount(name).catch(() => 0);
    if (records > 0) return { ms: performance.now() - sinceMs, polls };
  }
  return null;
}
