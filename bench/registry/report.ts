import type { Histogram } from 'hdr-histogram-js';
import { percentileMs } from '../raft/latency-histogram.js';
import { processCpuS } from '../raft/proc-cpu.js';

/** One JSON line per measurement on stdout; progress goes to stderr. */
export function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export function progress(message: string): void {
  process.stderr.write(`bench:registry: ${message}\n`);
}

export function latencySummary(histogram: Histogram): Record<string, number> {
  return {
    p50Ms: percentileMs(histogram, 50),
    p99Ms: percentileMs(histogram, 99),
    maxMs: Math.round(histogram.maxValue / 10) / 100,
  };
}

/** CPU seconds per named process between start() and stop(). */
export class PerProcessCpu {
  #before = new Map<string, number>();

  constructor(private readonly pids: ReadonlyMap<string, number>) {}

  start(): void {
    for (const [name, pid] of this.pids) this.#before.set(name, processCpuS(pid) ?? 0);
  }

  stop(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of this.pids) out[name] = (processCpuS(pid) ?? 0) - (this.#before.get(name) ?? 0);
    return out;
  }
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
