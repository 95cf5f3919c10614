import { closedLoop } from './closed-loop.js';
import { expectOk, type ReplicaPools, sendJson } from './http.js';
import { instanceKey, registerBody } from './instances.js';
import { emit, latencySummary, PerProcessCpu, round } from './report.js';
import type { RegistryZone } from './zone.js';

/** Long enough that the renewed instances never turn unhealthy during the rest of the run. */
const SLOW_HEARTBEAT = { intervalMs: 60_000, unhealthyAfterMs: 600_000, expireAfterMs: 3_600_000 };

/**
 * CPU per lease renewal on the follower that receives heartbeats and on the leader they are forwarded to.
 * Batches of `batchSize` at 4 in flight, then single heartbeats at 32 in flight, for `durationMs` each.
 */
export async function measureRenewals(
  zone: RegistryZone,
  pools: ReplicaPools,
  durationMs: number,
  instanceCount = 2000,
  batchSize = 100,
): Promise<void> {
  const service = 'bench-renew';
  const leader = await zone.leader();
  const [follower] = await zone.followers();
  if (follower === undefined) throw new Error('no follower');
  const pool = pools.pool(follower.origin);
  await closedLoop(
    64,
    60_000,
    async (n) => {
      await expectOk(
        sendJson(
          pools.pool(leader.origin),
          'POST',
          '/v1/instances',
          registerBody(service, n, { ephemeral: true, heartbeat: SLOW_HEARTBEAT }),
        ),
        'register',
      );
    },
    instanceCount,
  );
  const batches = Array.from({ length: Math.ceil(instanceCount / batchSize) }, (_, b) => ({
    instances: Array.from({ length: batchSize }, (_, i) => instanceKey(service, (b * batchSize + i) % instanceCount)),
  }));
  const cpu = new PerProcessCpu(
    new Map([
      ['follower', zone.pidOf(follower)],
      ['leader', zone.pidOf(leader)],
    ]),
  );

  const run = async (mode: 'batch' | 'single', inFlight: number, perRequest: number) => {
    const sendOne = async (n: number): Promise<void> => {
      if (mode === 'batch') {
        const body = (await expectOk(
          sendJson(pool, 'PUT', '/v1/instances/heartbeat/batch', batches[n % batches.length]),
          'heartbeat batch',
        )) as { renewed: number };
        if (body.renewed !== perRequest) throw new Error(`renewed ${body.renewed} of ${perRequest}`);
      } else {
        await expectOk(sendJson(pool, 'PUT', '/v1/instances/heartbeat', instanceKey(service, n % instanceCount)), 'hb');
      }
    };
    await closedLoop(inFlight, 500, sendOne);
    cpu.start();
    const t0 = process.cpuUsage();
    const result = await closedLoop(inFlight, durationMs, sendOne);
    const used = cpu.stop();
    const gen = process.cpuUsage(t0);
    const renewals = result.ok * perRequest;
    const wallS = result.elapsedMs / 1000;
    emit({
      measurement: mode === 'batch' ? 'renewal-cpu-batch' : 'renewal-cpu-single',
      receiver: `${follower.id} (follower)`,
      leader: leader.id,
      instancesPerRequest: perRequest,
      inFlight,
      requests: result.ok,
      failed: result.failed,
      ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
      renewals,
      renewalsPerS: Math.round(renewals / wallS),
      seconds: round(wallS),
      ...latencySummary(result.histogram),
      receiverCpuUsPerRenewal: round((used['follower']! * 1e6) / Math.max(1, renewals)),
      leaderCpuUsPerRenewal: round((used['leader']! * 1e6) / Math.max(1, renewals)),
      targetCpuUsPerRenewal: 10,
      receiverCpuPct: Math.round((used['follower']! / wallS) * 100),
      leaderCpuPct: Math.round((used['leader']! / wallS) * 100),
      loadGenCpuPct: Math.round(((gen.user + gen.system) / 1e6 / wallS) * 100),
    });
  };
  await run('batch', 4, batchSize);
  await run('single', 32, 1);
}
