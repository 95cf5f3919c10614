// The federation at scale: every zone loaded with persistent instances first (the registry has no batch
// registration; POST /v1/instances with many in flight is its fastest path, and persistent instances
// need no heartbeats), then a new federation node started: how long until it holds every instance, its
// RSS and CPU per instance, then its CPU per applied change while instances are updated.

import { processCpuS } from '../raft/proc-cpu.js';
import { pollUntil, sleep } from '../raft/wait.js';
import { closedLoop } from '../registry/closed-loop.js';
import { expectOk, type ReplicaPools, sendJson } from '../registry/http.js';
import { address } from '../registry/instances.js';
import { mib, rssBytes } from '../registry/proc-memory.js';
import type { BenchZone } from './bench-zones.js';
import type { FederationNode } from './federation-node.js';
import { emit, loadAverage, progress, round } from './report.js';

/** Instances per service: services of 100 instances, as a large deployment has them. */
const SERVICE_SIZE = 100;
const METADATA = { version: '2.14.3', protocol: 'http', owner: 'bench', tier: 'backend' };

/** Addresses of different zones never overlap (each zone has its own range of 10.x.y.z). */
const ADDRESSES_PER_ZONE = 2_000_000;

/** The n-th instance of a zone; the same services in every zone, so each merged service spans them all. */
function instanceKey(zone: BenchZone, n: number): { service: string; ip: string; port: number } {
  return { service: `bench-scale-${Math.floor(n / SERVICE_SIZE)}`, ...address(zone.index * ADDRESSES_PER_ZONE + n) };
}

function scaleInstance(zone: BenchZone, n: number): Record<string, unknown> {
  return { ...instanceKey(zone, n), ephemeral: false, metadata: { ...METADATA, zone: zone.name } };
}

/** Loads up to `perZone` instances into every zone at once; answers how many each zone holds. */
export async function loadZones(
  zones: readonly BenchZone[],
  pools: ReplicaPools,
  perZone: number,
  concurrency: number,
  budgetMs: number,
): Promise<Map<string, number>> {
  const done = new Map(zones.map((z) => [z.name, 0]));
  const started = performance.now();
  const reporter = setInterval(() => {
    const total = [...done.values()].reduce((a, b) => a + b, 0);
    const s = (performance.now() - started) / 1000;
    progress(`loading: ${total}/${perZone * zones.length} in ${Math.round(s)} s (${Math.round(total / s)}/s)`);
  }, 10_000);
  const rssBefore = zones.flatMap((z) => z.pids().map((pid) => rssBytes(pid) ?? 0));
  const cpuBefore = zones.flatMap((z) => z.pids().map((pid) => processCpuS(pid) ?? 0));
  let results: Awaited<ReturnType<typeof closedLoop>>[];
  try {
    results = await Promise.all(
      zones.map((zone) =>
        closedLoop(
          concurrency,
          budgetMs,
          async (n) => {
            const origin = zone.origins[n % zone.origins.length]!;
            await expectOk(
              sendJson(pools.pool(origin), 'POST', '/v1/instances', scaleInstance(zone, n), 30_000),
              'register',
            );
            done.set(zone.name, (done.get(zone.name) ?? 0) + 1);
          },
          perZone,
        ),
      ),
    );
  } finally {
    clearInterval(reporter);
  }
  const seconds = (performance.now() - started) / 1000;
  const total = results.reduce((a, r) => a + r.ok, 0);
  const pids = zones.flatMap((z) => z.pids());
  emit({
    measurement: 'load',
    zones: zones.length,
    replicasPerZone: zones[0]?.replicas.length,
    instancesPerZoneAsked: perZone,
    registeredByZone: Object.fromEntries(zones.map((z, i) => [z.name, results[i]!.ok])),
    failed: results.reduce((a, r) => a + r.failed, 0),
    firstError: results.find((r) => r.firstError !== undefined)?.firstError,
    reachedTarget: results.every((r) => r.ok >= perZone),
    seconds: round(seconds, 1),
    registrationsPerS: Math.round(total / seconds),
    concurrencyPerZone: concurrency,
    api: 'POST /v1/instances, persistent (ephemeral: false), one request per instance',
    zoneRssMiB: pids.map((pid) => mib(rssBytes(pid) ?? 0)),
    zoneRssMiBBefore: rssBefore.map(mib),
    zoneCpuS: pids.map((pid, i) => round((processCpuS(pid) ?? 0) - (cpuBefore[i] ?? 0), 1)),
    loadAverage: loadAverage(),
  });
  return new Map(zones.map((z, i) => [z.name, results[i]!.ok]));
}

/**
 * Times a federation node just started (`startedAt`) until every zone is live and it holds `expected`
 * instances per zone, polling GET /v1/zones every 100 ms. `baselineRssBytes`: a federation holding
 * (almost) nothing, for the per-instance figure.
 */
export async function measureConvergence(
  federation: FederationNode,
  startedAt: number,
  expected: ReadonlyMap<string, number>,
  timeoutMs: number,
  baselineRssBytes: number | undefined,
): Promise<Record<string, unknown>> {
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  const pid = federation.pid;
  const answering = await pollUntil('the federation answering', () => federation.zones(), 30_000, 20);
  const answeringMs = performance.now() - startedAt;
  // The zone watchers start once the HTTP port listens: CPU until then is node and module start-up.
  const startupCpuS = processCpuS(pid) ?? 0;
  let lastReport = performance.now();
  let peakRss = 0;
  const zones = await pollUntil(
    `the federation holding ${total} instances`,
    async () => {
      const z = await federation.zones();
      peakRss = Math.max(peakRss, rssBytes(pid) ?? 0);
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        progress(`converging: ${z.map((s) => `${s.zone} ${s.state} ${s.instances}`).join(', ')}`);
      }
      return z.every((s) => s.state === 'live' && s.instances >= (expected.get(s.zone) ?? 0)) ? z : undefined;
    },
    timeoutMs,
    100,
  );
  const convergeMs = performance.now() - startedAt;
  const cpuS = processCpuS(pid) ?? 0;
  const rssAt = rssBytes(pid) ?? 0;
  await sleep(3000);
  const rssSettled = rssBytes(pid) ?? 0;
  const cpuIdleS = (processCpuS(pid) ?? 0) - cpuS;
  const held = zones.reduce((a, z) => a + z.instances, 0);
  const line = {
    measurement: 'converge',
    zones: zones.length,
    instances: held,
    instancesByZone: Object.fromEntries(zones.map((z) => [z.zone, z.instances])),
    answeringMs: Math.round(answeringMs),
    answeringZones: answering.map((z) => z.state),
    convergeMs: Math.round(convergeMs),
    instancesPerS: Math.round(held / (convergeMs / 1000)),
    cpuS: round(cpuS),
    startupCpuS: round(startupCpuS),
    cpuUsPerInstance: round(((cpuS - startupCpuS) * 1e6) / Math.max(1, held), 1),
    rssMiBAtConvergence: mib(rssAt),
    rssMiBPeak: mib(Math.max(peakRss, rssAt)),
    rssMiBSettled: mib(rssSettled),
    rssBytesPerInstance: Math.round(rssSettled / Math.max(1, held)),
    ...(baselineRssBytes === undefined
      ? {}
      : {
          rssMiBBaseline: mib(baselineRssBytes),
          rssBytesPerInstanceAboveBaseline: Math.round((rssSettled - baselineRssBytes) / Math.max(1, held)),
        }),
    cpuSIdle3s: round(cpuIdleS),
    note:
      'convergeMs: from spawning the process (node start-up included) to GET /v1/zones showing every instance. ' +
      'CPU and RSS of the federation process from /proc; cpuUsPerInstance leaves start-up out.',
    loadAverage: loadAverage(),
  };
  emit(line);
  return line;
}

/**
 * With the federation holding everything: `changes` weight updates (PATCH /v1/instances) spread over
 * the zones, 16 in flight per zone; the federation's CPU from the first update until it shows the last
 * one of every zone, minus its idle CPU over as long (measured just before).
 */
export async function measureChangeCost(
  zones: readonly BenchZone[],
  pools: ReplicaPools,
  federation: FederationNode,
  loaded: ReadonlyMap<string, number>,
  changes: number,
): Promise<Record<string, unknown>> {
  const pid = federation.pid;
  const idleFrom = processCpuS(pid) ?? 0;
  const idleStart = performance.now();
  await sleep(3000);
  const idleRate = ((processCpuS(pid) ?? 0) - idleFrom) / ((performance.now() - idleStart) / 1000);

  const perZone = Math.max(1, Math.floor(changes / zones.length));
  const weight = 100 + Math.floor(Math.random() * 9000) + 1;
  const cpuFrom = processCpuS(pid) ?? 0;
  const started = performance.now();
  const results = await Promise.all(
    zones.map((zone) => {
      // The one after the last updated is the sentinel (see below).
      const count = Math.max(0, Math.min(perZone, (loaded.get(zone.name) ?? 0) - 1));
      const update = (n: number) => updateWeight(pools, zone, n, weight);
      return closedLoop(16, 600_000, update, count).then(async (r) => {
        // Sent after every other update of the zone was acknowledged, so committed after them all: the
        // zone's changes reach the federation in order, so the sentinel showing means all of them did.
        await update(count);
        return { zone, count, r };
      });
    }),
  );
  const ackedMs = performance.now() - started;
  await Promise.all(
    results.map(({ zone, count }) =>
      pollUntil(
        `the updates of ${zone.name} in the federation`,
        async () => {
          const sentinel = instanceKey(zone, count);
          return (await federationWeight(federation, zone.name, sentinel)) === weight ? true : undefined;
        },
        60_000,
        10,
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuS = (processCpuS(pid) ?? 0) - cpuFrom;
  const applied = results.reduce((a, x) => a + x.r.ok + 1, 0);
  const cpuNetS = Math.max(0, cpuS - idleRate * seconds);
  const line = {
    measurement: 'changes',
    changes: applied,
    failed: results.reduce((a, x) => a + x.r.failed, 0),
    firstError: results.find((x) => x.r.firstError !== undefined)?.r.firstError,
    kind: 'instance weight update (PATCH /v1/instances), one delta change each',
    zonesAckedSeconds: round(ackedMs / 1000, 2),
    seconds: round(seconds, 2),
    federationCpuS: round(cpuS, 3),
    federationIdleCpuSPerS: round(idleRate, 4),
    federationCpuUsPerChange: round((cpuNetS * 1e6) / Math.max(1, applied), 1),
    rssMiB: mib(rssBytes(pid) ?? 0),
    loadAverage: loadAverage(),
  };
  emit(line);
  return line;
}

async function updateWeight(pools: ReplicaPools, zone: BenchZone, n: number, weight: number): Promise<void> {
  const res = await pools.pool(zone.origins[n % zone.origins.length]!).request({
    method: 'PATCH',
    path: '/v1/instances',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...instanceKey(zone, n), weight }),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`update: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
}

async function federationWeight(
  federation: FederationNode,
  zone: string,
  inst: { service: string; ip: string; port: number },
): Promise<number | null> {
  const res = await fetch(`${federation.origin}/v1/services/public/DEFAULT_GROUP/${inst.service}`, {
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) return null;
  const body = (await res.json()) as {
    service: { instances: { zone: string; ip: string; port: number; weight: number }[] };
  };
  const found = body.service.instances.find((i) => i.zone === zone && i.ip === inst.ip && i.port === inst.port);
  return found ? found.weight : null;
}
