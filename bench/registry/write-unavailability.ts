import { sleep } from '../raft/wait.js';
import { type ReplicaPools, sendJson } from './http.js';
import { registerBody } from './instances.js';
import { emit, progress, round } from './report.js';
import type { RegistryZone } from './zone.js';

/**
 * SIGKILL the leader while registrations go to every replica every 10 ms (each writer keeps at most one
 * request in flight, 2 s timeout); time from the kill to the first acknowledged write that was sent after
 * the kill. The killed replica is restarted and caught up before the next sample.
 */
export async function measureWriteUnavailability(
  zone: RegistryZone,
  pools: ReplicaPools,
  samples: number,
): Promise<void> {
  let n = 9_000_000;
  for (let sample = 0; sample < samples; sample++) {
    const leader = await zone.leader(30_000);
    const survivors = zone.running().filter((replica) => replica !== leader);
    let killedAt = Number.POSITIVE_INFINITY;
    let firstAckAfterKill: number | undefined;
    let ackedBeforeKill = 0;
    let refusedAfterKill = 0;
    let stop = false;
    const writer = async (origin: string): Promise<void> => {
      const pool = pools.pool(origin);
      while (!stop) {
        const sentAt = performance.now();
        try {
          const answer = await sendJson(
            pool,
            'POST',
            '/v1/instances',
            registerBody('bench-failover', n++, { ephemeral: false }),
            2000,
          );
          const at = performance.now();
          if (answer.status === 200 || answer.status === 201) {
            if (sentAt > killedAt) firstAckAfterKill ??= at;
            else if (at < killedAt) ackedBeforeKill++;
          } else if (sentAt > killedAt) refusedAfterKill++;
        } catch {
          if (sentAt > killedAt) refusedAfterKill++;
        }
        const waitMs = 10 - (performance.now() - sentAt);
        if (waitMs > 0) await sleep(waitMs);
      }
    };
    const writers = survivors.map((replica) => writer(replica.origin));
    await sleep(1000);
    killedAt = performance.now();
    await leader.process.kill();
    const deadline = performance.now() + 15_000;
    while (firstAckAfterKill === undefined && performance.now() < deadline) await sleep(5);
    stop = true;
    await Promise.all(writers);
    const newLeader = await zone.leader(15_000).catch(() => undefined);
    emit({
      measurement: 'write-unavailability',
      sample,
      killed: leader.id,
      newLeader: newLeader?.id ?? null,
      unavailableMs: firstAckAfterKill === undefined ? null : round(firstAckAfterKill - killedAt, 1),
      targetMs: 1500,
      ackedBeforeKill,
      refusedOrTimedOutAfterKill: refusedAfterKill,
    });
    progress(`write-unavailability: restarting ${leader.id}`);
    await zone.restart(leader);
    await sleep(1000);
  }
}
