import { Pool } from 'undici';
import type { BenchSystem, Member } from './bench-system.js';
import { instanceRecord } from './instance-record.js';
import { roundMs } from './latency-histogram.js';
import { sleep } from './wait.js';

export interface FailoverOptions {
  /** One write to each surviving member every this many ms: light, steady load, and the measurement's resolution. */
  readonly probeIntervalMs: number;
  /** Steady load before the kill, to show writes through the survivors work. */
  readonly steadyMs: number;
  readonly giveUpMs: number;
  readonly keyPrefix: string;
}

export interface FailoverSample {
  readonly failoverMs: number;
  readonly killedLeader: string;
  readonly newLeader: string;
  readonly writesBeforeKill: number;
  readonly errorsAfterKill: number;
}

// Bounded so that hung writes to a leaderless member cannot grow without limit.
const inFlightPerMemberMax = 256;
const requestTimeoutMs = 10_000;

/**
 * Kills the leader under light open-loop write load sent to the other members, and measures the time from the
 * SIGKILL to the first acknowledged write that was sent after it. Open loop (a write every probeIntervalMs,
 * whether or not earlier ones returned) so that a write stuck on the dead leader does not delay the next probe.
 */
export async function measureFailover(system: BenchSystem, options: FailoverOptions): Promise<FailoverSample> {
  const leader = await system.findLeader();
  const survivors = system.members.filter((member) => member.id !== leader.id);
  const probes = survivors.map((member) => new MemberProber(system, member, options.keyPrefix));
  let killedAtMs = Number.POSITIVE_INFINITY;
  let firstAckAtMs: number | undefined;
  let seq = 0;
  const ticker = setInterval(() => {
    for (const prober of probes) {
      prober.send(seq++, (sentAtMs, ackedAtMs) => {
        if (sentAtMs >= killedAtMs && firstAckAtMs === undefined) firstAckAtMs = ackedAtMs;
      });
    }
  }, options.probeIntervalMs);
  try {
    await sleep(options.steadyMs);
    const writesBeforeKill = probes.reduce((sum, prober) => sum + prober.acks, 0);
    if (writesBeforeKill === 0)
      throw new Error(`no write succeeded through ${survivors.map((m) => m.id)} before the kill`);
    const errorsBeforeKill = probes.reduce((sum, prober) => sum + prober.errors, 0);
    killedAtMs = performance.now();
    await system.kill(leader.id);
    const giveUpAtMs = killedAtMs + options.giveUpMs;
    while (firstAckAtMs === undefined && performance.now() < giveUpAtMs) await sleep(1);
    if (firstAckAtMs === undefined) throw new Error(`no write acknowledged within ${options.giveUpMs} ms of the kill`);
    const newLeader = await system.findLeader();
    return {
      failoverMs: roundMs(firstAckAtMs - killedAtMs),
      killedLeader: leader.id,
      newLeader: newLeader.id,
      writesBeforeKill,
      errorsAfterKill: probes.reduce((sum, prober) => sum + prober.errors, 0) - errorsBeforeKill,
    };
  } finally {
    clearInterval(ticker);
    await Promise.all(probes.map((prober) => prober.destroy()));
  }
}

/** Sends probe writes to one member, each on its own connection so none waits behind a hung one. */
class MemberProber {
  acks = 0;
  errors = 0;
  #inFlight = 0;
  readonly #pool: Pool;

  constructor(
    private readonly system: BenchSystem,
    member: Member,
    private readonly keyPrefix: string,
  ) {
    this.#pool = new Pool(member.origin, {
      connections: inFlightPerMemberMax,
      pipelining: 1,
      headersTimeout: requestTimeoutMs,
      bodyTimeout: requestTimeoutMs,
    });
  }

  send(seq: number, onAck: (sentAtMs: number, ackedAtMs: number) => void): void {
    if (this.#inFlight >= inFlightPerMemberMax) return;
    this.#inFlight++;
    const sentAtMs = performance.now();
    const write = this.system.writeRequest(`${this.keyPrefix}${seq % 1000}`, instanceRecord(seq));
    this.#pool
      .request(write)
      .then(async (response) => {
        await response.body.dump();
        if (response.statusCode < 300) {
          this.acks++;
          onAck(sentAtMs, performance.now());
        } else {
          this.errors++;
        }
      })
      .catch(() => {
        this.errors++;
      })
      .finally(() => {
        this.#inFlight--;
      });
  }

  async destroy(): Promise<void> {
    // destroy, not close: writes hung on a dead leader would otherwise hold close for requestTimeoutMs.
    await this.#pool.destroy();
  }
}
