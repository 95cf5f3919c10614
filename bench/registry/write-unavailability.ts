import { sleep } from '../raft/wait.js';
import { type ReplicaPools, sendJson } from './http.js';
import { registerBody } from './instances.js';
import { emit, progress, round } from './report.js';
import type { RegistryZone } from './zone.js';

const MAX_IN_FLIGHT = 1000;

/**
 * SIGKILL the leader while registrations go to every surviving replica every 10 ms (open loop: one is sent
 * every 10 ms whatever the earlier ones do, 5 s timeout); time from the kill to the first acknowledged write that was sent after
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
    let inFlight = 0;
    // Open loop: a request stuck on the dead leader must not hold back the next one.
    const writer = async (origin: string): Promise<void> => {
      const pool = pools.pool(origin);
      const pending = new Set<Promise<void>>();
      while (!stop) {
        const tickAt = performance.now();
        if (inFlight < MAX_IN_FLIGHT) {
          inFlight++;
          const sentAt = tickAt;
          const sent = sendJson(
            pool,
            'POST',
            '/v1/instances',
            registerBody('bench-failover', n++, { ephemeral: false }),
            5000,
          )
            .then((answer) => {
              const at = performance.now();
              if (answer.status === 200 || answer.status === 201) {
                if (sentAt > killedAt) firstAckAfterKill ??= at;
                else if (at < killedAt) ackedBeforeKill++;
              } else if (sentAt > killedAt) refusedAfterKill++;
            })
            .catch(() => {
              if (sentAt > killedAt) refusedAfterKill++;
            })
            .finally(() => {
              inFlight--;
              pending.delete(sent);
            });
          pending.add(sent);
        }
        const waitMs = 10 - (performance.now() - tickAt);
        if (waitMs > 0) await sleep(waitMs);
      }
      await Promise.all(pending);
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
