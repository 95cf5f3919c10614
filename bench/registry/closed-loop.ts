import type { Histogram } from 'hdr-histogram-js';
import { latencyHistogram } from '../raft/latency-histogram.js';

export interface ClosedLoopResult {
  readonly ok: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly histogram: Histogram;
  readonly firstError: string | undefined;
}

/**
 * Keeps `inFlight` operations running until `durationMs` has passed or `limit` operations have started;
 * records the latency of successful ones (µs). `op(n)` gets a sequence number, unique in this run.
 */
export async function closedLoop(
  inFlight: number,
  durationMs: number,
  op: (n: number) => Promise<void>,
  limit = Number.POSITIVE_INFINITY,
): Promise<ClosedLoopResult> {
  const histogram = latencyHistogram();
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const startedAt = performance.now();
  const deadline = startedAt + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && next < limit) {
      const n = next++;
      const t0 = performance.now();
      try {
        await op(n);
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        ok++;
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { ok, failed, elapsedMs: performance.now() - startedAt, histogram, firstError };
}
