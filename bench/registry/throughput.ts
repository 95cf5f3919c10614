import { CpuMeter } from '../raft/cpu-meter.js';
import { closedLoop } from './closed-loop.js';
import { expectOk, type ReplicaPools, sendJson } from './http.js';
import { registerBody, SERVICE_PATH_PREFIX } from './instances.js';
import { emit, latencySummary, PerProcessCpu, round } from './report.js';
import type { RegistryZone } from './zone.js';

function replicaCpu(zone: RegistryZone): PerProcessCpu {
  return new PerProcessCpu(new Map(zone.running().map((replica) => [replica.id, zone.pidOf(replica)])));
}

/** Registrations at `inFlight`, round-robin over all replicas (followers forward to the leader). */
export async function measureRegistrations(
  zone: RegistryZone,
  pools: ReplicaPools,
  durationMs: number,
  inFlight = 64,
): Promise<{ registered: number }> {
  const origins = zone.origins;
  const leader = await zone.leader();
  const register = async (n: number, offset: number): Promise<void> => {
    const origin = origins[n % origins.length]!;
    await expectOk(
      sendJson(
        pools.pool(origin),
        'POST',
        '/v1/instances',
        registerBody('bench-reg', offset + n, { ephemeral: false }),
      ),
      'register',
    );
  };
  // Warm-up: connections, JIT, the service created.
  const warm = await closedLoop(inFlight, 1000, (n) => register(n, 0));
  const machine = new CpuMeter(zone.running().map((replica) => zone.pidOf(replica)));
  const perReplica = replicaCpu(zone);
  machine.start();
  perReplica.start();
  const result = await closedLoop(inFlight, durationMs, (n) => register(n, warm.ok + warm.failed + 1000));
  const cpu = machine.stop();
  const cpuByReplica = perReplica.stop();
  const perS = result.ok / (result.elapsedMs / 1000);
  emit({
    measurement: 'registrations',
    inFlight,
    spreadOver: origins.length,
    leader: leader.id,
    metadataBytes: JSON.stringify(registerBody('bench-reg', 0, { ephemeral: false }).metadata).length,
    persistent: true,
    ok: result.ok,
    failed: result.failed,
    ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
    seconds: round(result.elapsedMs / 1000),
    perS: Math.round(perS),
    targetPerS: 10_000,
    ...latencySummary(result.histogram),
    cpuSByReplica: Object.fromEntries(Object.entries(cpuByReplica).map(([id, s]) => [id, round(s)])),
    serverCpuUsPerRegistration: round((cpu.serverCpuS * 1e6) / Math.max(1, result.ok), 1),
    ...cpu,
  });
  return { registered: warm.ok + result.ok };
}

/** Reads of one service of ~10 instances, round-robin over all replicas. */
export async function measureReads(
  zone: RegistryZone,
  pools: ReplicaPools,
  durationMs: number,
  inFlight = 64,
): Promise<void> {
  const origins = zone.origins;
  const service = 'bench-read';
  for (let n = 0; n < 10; n++) {
    await expectOk(
      sendJson(pools.pool(origins[0]!), 'POST', '/v1/instances', registerBody(service, n, { ephemeral: false })),
      'register',
    );
  }
  const path = `${SERVICE_PATH_PREFIX}${service}`;
  let bytes = 0;
  let instancesSeen = 0;
  const read = async (n: number): Promise<void> => {
    const response = await pools.pool(origins[n % origins.length]!).request({ method: 'GET', path });
    const body = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`read: HTTP ${response.statusCode} ${body.slice(0, 200)}`);
    bytes = body.length;
  };
  await closedLoop(inFlight, 1000, read);
  {
    const answer = (await expectOk(sendJson(pools.pool(origins[1]!), 'GET', path), 'read')) as {
      instances?: unknown[];
    };
    instancesSeen = answer.instances?.length ?? 0;
  }
  const machine = new CpuMeter(zone.running().map((replica) => zone.pidOf(replica)));
  const perReplica = replicaCpu(zone);
  machine.start();
  perReplica.start();
  const result = await closedLoop(inFlight, durationMs, read);
  const cpu = machine.stop();
  const cpuByReplica = perReplica.stop();
  emit({
    measurement: 'reads',
    inFlight,
    spreadOver: origins.length,
    instancesInService: instancesSeen,
    answerBytes: bytes,
    ok: result.ok,
    failed: result.failed,
    ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
    seconds: round(result.elapsedMs / 1000),
    perS: Math.round(result.ok / (result.elapsedMs / 1000)),
    targetPerS: 20_000,
    ...latencySummary(result.histogram),
    cpuSByReplica: Object.fromEntries(Object.entries(cpuByReplica).map(([id, s]) => [id, round(s)])),
    serverCpuUsPerRead: round((cpu.serverCpuS * 1e6) / Math.max(1, result.ok), 1),
    ...cpu,
  });
}
