import { Pool } from 'undici';
import type { BenchSystem, Member } from './bench-system.js';
import { instanceRecords } from './instance-record.js';
import { latencyHistogram, percentileMs, roundMs } from './latency-histogram.js';
import { sleep } from './wait.js';

export interface LoadOptions {
  readonly system: BenchSystem;
  /** Workers are spread over these round-robin; each target gets its own pool. */
  readonly targets: readonly Member[];
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Keys cycle through this many names: a registry of that many instances, each written again and again. */
  readonly keyCount: number;
  readonly keyPrefix: string;
  readonly requestTimeoutMs: number;
  /** Called when the measured window opens and closes, e.g. to sample CPU over exactly that window. */
  readonly onMeasureStart?: () => void;
  readonly onMeasureEnd?: () => void;
}

export interface LoadResult {
  readonly ops: number;
  readonly errors: number;
  readonly durationS: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** Longest time in the window with no write completing: a stall of the whole pipeline (snapshot, GC, election). */
  readonly maxStallMs: number;
  readonly firstError: string | undefined;
}

// An instant failure (connection refused, 503) must not turn a worker into a busy loop.
const errorBackoffMs = 10;
const distinctValueCount = 1024;

/**
 * Closed-loop load: `concurrency` workers, each with one write in flight at a time, for warm-up plus duration.
 * Only completions inside the measured window count, so the warm-up absorbs connection setup and JIT.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  // One connection per worker: with HTTP/1.1 and no pipelining, that is what keeps C writes in flight.
  const workersPerTarget = Math.ceil(options.concurrency / options.targets.length);
  const pools = options.targets.map(
    (target) =>
      new Pool(target.origin, {
        connections: workersPerTarget,
        pipelining: 1,
        headersTimeout: options.requestTimeoutMs,
        bodyTimeout: options.requestTimeoutMs,
      }),
  );
  const values = instanceRecords(distinctValueCount);
  const histogram = latencyHistogram();
  const startedAtMs = performance.now();
  const measureFromMs = startedAtMs + options.warmupMs;
  const endAtMs = measureFromMs + options.durationMs;
  let nextSeq = 0;
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  let lastCompletionAtMs = measureFromMs;
  let maxStallMs = 0;

  const worker = async (_: unknown, workerIndex: number): Promise<void> => {
    const pool = pools[workerIndex % pools.length]!;
    while (performance.now() < endAtMs) {
      const seq = nextSeq++;
      const key = `${options.keyPrefix}${seq % options.keyCount}`;
      const write = options.system.writeRequest(key, values[seq % distinctValueCount]!);
      const sentAtMs = performance.now();
      let failure: string | undefined;
      try {
        const response = await pool.request(write);
        if (response.statusCode >= 300) {
          failure = `HTTP ${response.statusCode}: ${(await response.body.text()).slice(0, 200)}`;
        } else {
          await response.body.dump();
        }
      } catch (error) {
        failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      const doneAtMs = performance.now();
      const measured = doneAtMs >= measureFromMs && doneAtMs <= endAtMs;
      if (failure === undefined) {
        if (measured) {
          maxStallMs = Math.max(maxStallMs, doneAtMs - lastCompletionAtMs);
          lastCompletionAtMs = doneAtMs;
          ops++;
          histogram.recordValue(Math.max(1, Math.round((doneAtMs - sentAtMs) * 1000)));
        }
      } else {
        if (measured) errors++;
        firstError ??= failure;
        await sleep(errorBackoffMs);
      }
    }
  };

  let measureEnded = false;
  const endMeasure = () => {
    if (!measureEnded) options.onMeasureEnd?.();
    measureEnded = true;
  };
  const windowTimers = [
    setTimeout(() => options.onMeasureStart?.(), options.warmupMs),
    setTimeout(endMeasure, options.warmupMs + options.durationMs),
  ];
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    for (const timer of windowTimers) clearTimeout(timer);
    // Workers can all stop a moment before the end timer fires.
    endMeasure();
    await Promise.all(pools.map((pool) => pool.close()));
  }
  const durationS = options.durationMs / 1000;
  const result: LoadResult = {
    ops,
    errors,
    durationS,
    opsPerSec: Math.round(ops / durationS),
    p50Ms: percentileMs(histogram, 50),
    p90Ms: percentileMs(histogram, 90),
    p99Ms: percentileMs(histogram, 99),
    p999Ms: percentileMs(histogram, 99.9),
    maxMs: roundMs(histogram.maxValue / 1000),
    maxStallMs: roundMs(Math.max(maxStallMs, endAtMs - lastCompletionAtMs)),
    firstError,
  };
  histogram.destroy();
  return result;
}
