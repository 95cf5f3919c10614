import { latencyHistogram } from '../raft/latency-histogram.js';
import { sleep } from '../raft/wait.js';
import { expectOk, type ReplicaPools, sendJson } from './http.js';
import { address, registerBody } from './instances.js';
import { emit, latencySummary, PerProcessCpu, progress, round } from './report.js';
import { ServiceWatcher } from './watcher.js';
import type { RegistryZone } from './zone.js';

/**
 * `subscriberCount` watchers of one service spread over the replicas; `registrations` instances registered
 * one by one (round-robin over replicas); per (subscriber, registration): time from the HTTP acknowledgement
 * until the subscriber holds the delta. A delta that arrives before the acknowledgement counts as 0.
 */
export async function measurePush(
  zone: RegistryZone,
  pools: ReplicaPools,
  subscriberCount: number,
  registrations = 20,
  gapMs = 250,
): Promise<void> {
  const service = 'bench-push';
  const origins = zone.origins;
  const base = 5_000_000;
  await expectOk(
    sendJson(pools.pool(origins[0]!), 'POST', '/v1/instances', registerBody(service, base - 1, { ephemeral: false })),
    'register',
  );
  const firstPort = address(base).port;
  // arrivals[s][k]: when subscriber s received registration k (ms, performance.now), NaN until then.
  const arrivals: Float64Array[] = [];
  const watchers: ServiceWatcher[] = [];
  let received = 0;
  const connectStartedAt = performance.now();
  const connectBatch = 200;
  try {
    for (let start = 0; start < subscriberCount; start += connectBatch) {
      const batch: Promise<void>[] = [];
      for (let s = start; s < Math.min(subscriberCount, start + connectBatch); s++) {
        const row = new Float64Array(registrations).fill(Number.NaN);
        arrivals.push(row);
        const watcher = new ServiceWatcher(origins[s % origins.length]!, service, (instance, atMs) => {
          const k = instance.port - firstPort;
          if (k >= 0 && k < registrations && Number.isNaN(row[k]!)) {
            row[k] = atMs;
            received++;
          }
        });
        watchers.push(watcher);
        batch.push(watcher.open());
      }
      await Promise.all(batch);
    }
    const connectS = (performance.now() - connectStartedAt) / 1000;
    progress(`push: ${subscriberCount} subscribers connected in ${round(connectS, 1)} s`);
    const cpu = new PerProcessCpu(new Map(zone.running().map((replica) => [replica.id, zone.pidOf(replica)])));
    const gen0 = process.cpuUsage();
    cpu.start();
    const t0 = performance.now();
    const ackAt = new Float64Array(registrations);
    for (let k = 0; k < registrations; k++) {
      const origin = origins[k % origins.length]!;
      await expectOk(
        sendJson(pools.pool(origin), 'POST', '/v1/instances', registerBody(service, base + k, { ephemeral: false })),
        'register',
      );
      ackAt[k] = performance.now();
      await sleep(gapMs);
    }
    const expected = subscriberCount * registrations;
    const deadline = performance.now() + 15_000;
    while (received < expected && performance.now() < deadline) await sleep(20);
    const wallS = (performance.now() - t0) / 1000;
    const used = cpu.stop();
    const gen = process.cpuUsage(gen0);
    const histogram = latencyHistogram();
    let beforeAck = 0;
    let missing = 0;
    for (const row of arrivals) {
      for (let k = 0; k < registrations; k++) {
        const at = row[k]!;
        if (Number.isNaN(at)) {
          missing++;
          continue;
        }
        const latencyMs = at - ackAt[k]!;
        if (latencyMs < 0) beforeAck++;
        histogram.recordValue(Math.max(1, Math.round(Math.max(0, latencyMs) * 1000)));
      }
    }
    emit({
      measurement: 'push-latency',
      subscribers: subscriberCount,
      perReplica: Math.ceil(subscriberCount / origins.length),
      registrations,
      gapMs,
      deliveries: histogram.totalCount,
      missing,
      deliveredBeforeAck: beforeAck,
      ...latencySummary(histogram),
      targetP99Ms: 200,
      connectSeconds: round(connectS, 1),
      cpuSByReplica: Object.fromEntries(Object.entries(used).map(([id, s]) => [id, round(s)])),
      serverCpuUsPerDelivery: round(
        (Object.values(used).reduce((a, b) => a + b, 0) * 1e6) / Math.max(1, histogram.totalCount),
        1,
      ),
      loadGenCpuPct: Math.round(((gen.user + gen.system) / 1e6 / wallS) * 100),
    });
  } finally {
    for (const watcher of watchers) watcher.close();
  }
}
