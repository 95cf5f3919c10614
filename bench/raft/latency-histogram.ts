import { build, type Histogram } from 'hdr-histogram-js';

/** Latencies in microseconds, 3 significant digits, up to 60 s: enough for any request the bench keeps. */
export function latencyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export function percentileMs(histogram: Histogram, percentile: number): number {
  return roundMs(histogram.getValueAtPercentile(percentile) / 1000);
}

export function roundMs(valueMs: number): number {
  return Math.round(valueMs * 100) / 100;
}
